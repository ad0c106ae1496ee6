//! The host's own `poll_oneoff`.
//!
//! wasmtime-wasi's version blocks the thread for the whole sleep, out of
//! reach of the epoch: a guest in `time.sleep(30)` would outlive a 1 s
//! timeout and ignore a cancel. This one sleeps on the task's stop signal,
//! so a wait ends at the task's deadline or the moment it is cancelled.
//!
//! The guest's only descriptors are in-memory pipes and regular files, which
//! are always ready, so fd subscriptions are answered at once.

use std::time::{Duration, Instant, SystemTime};

use wasmtime::{Caller, Linker};

use super::errno::{EINVAL, SUCCESS};
use crate::sandbox::TaskState;
use crate::sandbox::guest_memory::{memory, slice, slice_mut, write_u32};

const SUBSCRIPTION_SIZE: usize = 48;
const EVENT_SIZE: usize = 32;
const TAG_CLOCK: u8 = 0;
const CLOCK_REALTIME: u32 = 0;
const FLAG_ABSTIME: u16 = 1;

pub fn define(linker: &mut Linker<TaskState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "wasi_snapshot_preview1",
        "poll_oneoff",
        |mut caller: Caller<'_, TaskState>, subs: i32, events: i32, count: i32, nevents: i32| {
            poll_oneoff(&mut caller, subs, events, count, nevents)
        },
    )?;
    Ok(())
}

/// One subscription, reduced to what the host needs.
struct Subscription {
    userdata: u64,
    tag: u8,
    /// When a clock subscription fires; `None` for fd subscriptions, which
    /// are ready at once.
    wake_at: Option<Instant>,
}

fn poll_oneoff(
    caller: &mut Caller<'_, TaskState>,
    subs_ptr: i32,
    events_ptr: i32,
    count: i32,
    nevents_ptr: i32,
) -> wasmtime::Result<i32> {
    let subs = match read_subscriptions(caller, subs_ptr, count) {
        Ok(subs) => subs,
        Err(errno) => return Ok(errno),
    };
    let now = Instant::now();
    let any_ready = subs.iter().any(|s| s.wake_at.is_none_or(|t| t <= now));
    if !any_ready {
        let earliest = subs
            .iter()
            .filter_map(|s| s.wake_at)
            .min()
            .expect("all are clocks");
        caller.data().stop.sleep_until(earliest)?;
    }
    let now = Instant::now();
    let ready: Vec<&Subscription> = subs
        .iter()
        .filter(|s| s.wake_at.is_none_or(|t| t <= now))
        .collect();
    Ok(write_events(caller, events_ptr, nevents_ptr, &ready)
        .err()
        .unwrap_or(SUCCESS))
}

fn read_subscriptions(
    caller: &mut Caller<'_, TaskState>,
    ptr: i32,
    count: i32,
) -> Result<Vec<Subscription>, i32> {
    let count = count as u32 as usize;
    if count == 0 {
        return Err(EINVAL);
    }
    let mem = memory(caller)?;
    let (data, state) = mem.data_and_store_mut(&mut *caller);
    let raw = slice(
        data,
        ptr,
        count.checked_mul(SUBSCRIPTION_SIZE).ok_or(EINVAL)?,
    )?;
    let now = Instant::now();
    let guest_now = state.clock.elapsed_nanos();
    raw.chunks_exact(SUBSCRIPTION_SIZE)
        .map(|s| {
            let u64_at =
                |at: usize| u64::from_le_bytes(s[at..at + 8].try_into().expect("eight bytes"));
            let tag = s[8];
            let wake_at = (tag == TAG_CLOCK).then(|| {
                let clock = u32::from_le_bytes(s[16..20].try_into().expect("four bytes"));
                let timeout = u64_at(24);
                let flags = u16::from_le_bytes(s[40..42].try_into().expect("two bytes"));
                let wait = if flags & FLAG_ABSTIME == 0 {
                    timeout
                } else if clock == CLOCK_REALTIME {
                    let epoch = SystemTime::now()
                        .duration_since(SystemTime::UNIX_EPOCH)
                        .unwrap_or_default();
                    timeout.saturating_sub(epoch.as_nanos() as u64)
                } else {
                    timeout.saturating_sub(guest_now)
                };
                now.checked_add(Duration::from_nanos(wait))
                    .unwrap_or(now + Duration::from_secs(86400 * 365))
            });
            Ok(Subscription {
                userdata: u64_at(0),
                tag,
                wake_at,
            })
        })
        .collect()
}

fn write_events(
    caller: &mut Caller<'_, TaskState>,
    events_ptr: i32,
    nevents_ptr: i32,
    ready: &[&Subscription],
) -> Result<(), i32> {
    let mem = memory(caller)?;
    let data = mem.data_mut(&mut *caller);
    let out = slice_mut(data, events_ptr, ready.len() * EVENT_SIZE)?;
    for (event, sub) in out.chunks_exact_mut(EVENT_SIZE).zip(ready) {
        event.fill(0);
        event[0..8].copy_from_slice(&sub.userdata.to_le_bytes());
        event[10] = sub.tag;
    }
    write_u32(data, nevents_ptr, ready.len() as u32)
}
