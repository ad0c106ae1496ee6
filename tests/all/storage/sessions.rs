//! The storage contract for sessions, on both backends: runs claimed one
//! at a time in order, state stored with the result and fenced, forks that
//! copy, ends that cancel and forget, and expiry.

use std::sync::Arc;
use std::time::Duration;

use sandrun::storage::{
    Cancelled, ClaimFor, Inserted, NewSession, NewTask, RunEnd, SessionChange, SessionFilter,
    SessionWrite, StateWrite, Storage, StorageError, now_ms,
};
use sandrun_api::{SessionRequest, SessionStatus, TaskStatus};

use super::{ended, new_task};

const LEASE: Duration = Duration::from_secs(60);

fn new_session(id: &str) -> NewSession {
    NewSession {
        id: id.into(),
        settings: SessionRequest {
            memory_bytes: Some(256 << 20),
            max_state_bytes: Some(1 << 20),
            idle_timeout: Some(600),
            ttl: Some(86400),
            ..SessionRequest::default()
        },
        created_at: now_ms(),
    }
}

fn run_of(session: &str, id: &str) -> NewTask {
    NewTask {
        session_id: Some(session.into()),
        ..new_task(id)
    }
}

/// Claim everything claimable now: the ids.
async fn claim_all(storage: &Arc<dyn Storage>, owner: &str) -> Vec<String> {
    let claimed = storage.claim(owner, 10, LEASE).await.unwrap();
    claimed.into_iter().map(|c| c.id).collect()
}

/// `bytes` as a run's new state, named by a token of its own.
fn written(bytes: &[u8]) -> StateWrite<'_> {
    StateWrite {
        token: std::str::from_utf8(bytes).expect("the tests' states are text"),
        bytes,
    }
}

/// The state session `id` stores, after checking that a run is given the
/// token of those very bytes.
async fn stored_state(storage: &Arc<dyn Storage>, id: &str) -> Option<Vec<u8>> {
    let sessions = storage.sessions();
    let token = sessions.run_state(id).await.unwrap().unwrap().token;
    let state = sessions.state(id).await.unwrap();
    assert_eq!(token, state.as_ref().map(|(token, _)| token.clone()));
    state.map(|(_, bytes)| bytes)
}

/// Finish run `id` (attempt 1, held by `owner`), leaving `state`.
async fn finish_run(
    storage: &Arc<dyn Storage>,
    (id, owner): (&str, &str),
    session: &str,
    generation: i64,
    state: Option<&[u8]>,
) -> bool {
    let end = RunEnd {
        session: Some(SessionWrite {
            session_id: session,
            generation,
            state: state.map(written),
        }),
        ..ended(TaskStatus::Succeeded)
    };
    storage.finish(id, 1, owner, end).await.unwrap()
}

on_both_backends!(
    a_run_skips_the_queue_only_when_none_of_its_session_is_pending,
    a_sessions_runs_are_claimed_one_at_a_time_in_order,
    a_runs_state_is_stored_with_its_result_and_fenced,
    deleting_a_session_cancels_its_runs_and_forgets_it,
    a_fork_copies_the_state_and_shares_nothing,
    idle_and_expired_sessions_end_and_are_pruned_later,
    sessions_list_by_status_and_label,
);

async fn a_sessions_runs_are_claimed_one_at_a_time_in_order(storage: Arc<dyn Storage>) {
    let sessions = storage.sessions();
    sessions.create_session(&new_session("s1")).await.unwrap();
    for id in ["r1", "r2", "r3"] {
        storage.insert_tasks(vec![run_of("s1", id)]).await.unwrap();
    }
    storage.insert_tasks(vec![new_task("plain")]).await.unwrap();
    let mut first = claim_all(&storage, "n").await;
    first.sort();
    assert_eq!(first, ["plain", "r1"], "one run of a session at a time");
    let record = sessions.session("s1").await.unwrap().unwrap();
    assert_eq!(record.runs, 3);
    assert_eq!(record.status(), SessionStatus::Running);
    let run = storage.task("r2").await.unwrap().unwrap();
    assert_eq!(
        (run.session_id.as_deref(), run.session_run),
        (Some("s1"), Some(2))
    );

    // A run given back for a retry still goes first.
    assert!(
        storage
            .release("r1", 1, "n", Duration::ZERO, "worker died", true)
            .await
            .unwrap()
    );
    assert_eq!(claim_all(&storage, "n").await, ["r1"]);
    let generation = sessions.run_state("s1").await.unwrap().unwrap().generation;
    let end = RunEnd {
        session: Some(SessionWrite {
            session_id: "s1",
            generation,
            state: Some(written(b"after r1")),
        }),
        ..ended(TaskStatus::Succeeded)
    };
    assert!(storage.finish("r1", 2, "n", end).await.unwrap());
    assert_eq!(claim_all(&storage, "other-node").await, ["r2"]);
    let stored = sessions.run_state("s1").await.unwrap().unwrap();
    assert_eq!(stored.token.as_deref(), Some("after r1"));
    assert_eq!(stored.max_state_bytes, 1 << 20);
    assert_eq!(
        stored_state(&storage, "s1").await.as_deref(),
        Some(&b"after r1"[..])
    );
    assert!(finish_run(&storage, ("r2", "other-node"), "s1", generation, None).await);
    assert_eq!(claim_all(&storage, "n").await, ["r3"]);
    assert!(claim_all(&storage, "n").await.is_empty());
}

/// Run `id` of `session`, asking to be inserted already claimed by `owner`.
fn claimed_run_of(session: &str, id: &str, owner: &str) -> NewTask {
    NewTask {
        claim_for: Some(ClaimFor {
            owner: owner.into(),
            lease: LEASE,
        }),
        ..run_of(session, id)
    }
}

async fn inserted_status(storage: &Arc<dyn Storage>, task: NewTask) -> TaskStatus {
    match storage.insert_tasks(vec![task]).await.unwrap().remove(0) {
        Inserted::Created(record) => record.status,
        Inserted::Existing(record) => panic!("{} already existed", record.id),
    }
}

async fn a_run_skips_the_queue_only_when_none_of_its_session_is_pending(storage: Arc<dyn Storage>) {
    storage
        .sessions()
        .create_session(&new_session("s1"))
        .await
        .unwrap();
    let first = inserted_status(&storage, claimed_run_of("s1", "r1", "n")).await;
    assert_eq!(first, TaskStatus::Running, "nothing of s1 was pending");
    // r1 runs: r2 waits behind it, queued, though it asked to be claimed.
    let second = inserted_status(&storage, claimed_run_of("s1", "r2", "n")).await;
    assert_eq!(second, TaskStatus::Queued);
    assert!(claim_all(&storage, "m").await.is_empty(), "r1 still runs");
    assert!(finish_run(&storage, ("r1", "n"), "s1", 0, Some(b"one")).await);
    // r2 is queued: r3 waits behind it too.
    let third = inserted_status(&storage, claimed_run_of("s1", "r3", "n")).await;
    assert_eq!(third, TaskStatus::Queued);
    assert_eq!(claim_all(&storage, "m").await, ["r2"]);
    assert_eq!(
        storage.task("r1").await.unwrap().unwrap().session_run,
        Some(1)
    );
    assert_eq!(
        storage.task("r3").await.unwrap().unwrap().session_run,
        Some(3)
    );
}

async fn a_runs_state_is_stored_with_its_result_and_fenced(storage: Arc<dyn Storage>) {
    let sessions = storage.sessions();
    sessions.create_session(&new_session("s1")).await.unwrap();
    assert_eq!(
        stored_state(&storage, "s1").await,
        None,
        "no state before the first run"
    );
    storage
        .insert_tasks(vec![run_of("s1", "r1")])
        .await
        .unwrap();
    storage
        .claim("n", 1, Duration::from_millis(1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    storage.reclaim_expired().await.unwrap();
    storage.claim("m", 1, LEASE).await.unwrap();
    // The runner whose lease expired stores nothing.
    let end = RunEnd {
        session: Some(SessionWrite {
            session_id: "s1",
            generation: 0,
            state: Some(written(b"stale")),
        }),
        ..ended(TaskStatus::Succeeded)
    };
    assert!(!storage.finish("r1", 1, "n", end).await.unwrap());
    assert_eq!(stored_state(&storage, "s1").await, None);
    let end = RunEnd {
        session: Some(SessionWrite {
            session_id: "s1",
            generation: 0,
            state: Some(written(b"kept")),
        }),
        ..ended(TaskStatus::Succeeded)
    };
    assert!(storage.finish("r1", 2, "m", end).await.unwrap());
    let record = sessions.session("s1").await.unwrap().unwrap();
    assert_eq!(record.state_bytes, 4);
    assert!(record.last_run_at.is_some());
    assert_eq!(record.status(), SessionStatus::Idle);

    // A rolled-back run leaves the state as it was.
    storage
        .insert_tasks(vec![run_of("s1", "r2")])
        .await
        .unwrap();
    storage.claim("m", 1, LEASE).await.unwrap();
    assert!(finish_run(&storage, ("r2", "m"), "s1", 0, None).await);
    assert_eq!(
        stored_state(&storage, "s1").await.as_deref(),
        Some(&b"kept"[..])
    );

    // A restart while a run goes on: the run keeps nothing.
    storage
        .insert_tasks(vec![run_of("s1", "r3")])
        .await
        .unwrap();
    storage.claim("m", 1, LEASE).await.unwrap();
    let restarted = sessions.restart_session("s1").await.unwrap();
    assert!(matches!(restarted, SessionChange::Done(ref s) if s.state_bytes == 0));
    assert!(finish_run(&storage, ("r3", "m"), "s1", 0, Some(b"old interpreter")).await);
    let stored = sessions.run_state("s1").await.unwrap().unwrap();
    assert_eq!((stored.token, stored.generation), (None, 1));
    assert_eq!(stored_state(&storage, "s1").await, None);
}

async fn deleting_a_session_cancels_its_runs_and_forgets_it(storage: Arc<dyn Storage>) {
    let sessions = storage.sessions();
    sessions.create_session(&new_session("s1")).await.unwrap();
    storage
        .insert_tasks(vec![run_of("s1", "r1")])
        .await
        .unwrap();
    storage.claim("n", 1, LEASE).await.unwrap();
    assert!(finish_run(&storage, ("r1", "n"), "s1", 0, Some(b"state")).await);
    storage
        .insert_tasks(vec![run_of("s1", "r2")])
        .await
        .unwrap();
    storage
        .insert_tasks(vec![run_of("s1", "r3")])
        .await
        .unwrap();
    storage.claim("n", 10, LEASE).await.unwrap();

    let (change, runs) = sessions.delete_session("s1").await.unwrap();
    let SessionChange::Done(record) = change else {
        panic!("{change:?}")
    };
    assert_eq!(runs, ["r2", "r3"]);
    assert_eq!(record.status(), SessionStatus::Ended);
    assert_eq!(record.end_reason.as_deref(), Some("deleted"));
    assert_eq!(record.state_bytes, 0);
    assert!(sessions.session("s1").await.unwrap().is_none());
    assert!(sessions.run_state("s1").await.unwrap().is_none());
    assert!(
        sessions.state("s1").await.unwrap().is_none(),
        "its state went with it"
    );
    let r2 = storage.task("r2").await.unwrap().unwrap();
    assert!(r2.cancel_requested, "the running run is asked to stop");
    let r3 = storage.task("r3").await.unwrap().unwrap();
    assert_eq!(
        r3.status,
        TaskStatus::Cancelled,
        "the queued run is cancelled"
    );
    // The run that was stopped ends, and stores nothing.
    assert!(finish_run(&storage, ("r2", "n"), "s1", 0, Some(b"late")).await);
    assert!(sessions.session("s1").await.unwrap().is_none());
    assert_eq!(
        storage
            .task("r2")
            .await
            .unwrap()
            .unwrap()
            .session_id
            .as_deref(),
        Some("s1"),
        "its runs stay, as tasks"
    );

    let refused = storage.insert_tasks(vec![run_of("s1", "r4")]).await;
    assert!(
        matches!(refused, Err(StorageError::SessionClosed(_))),
        "{refused:?}"
    );
    assert!(storage.task("r4").await.unwrap().is_none());
    let again = sessions.delete_session("s1").await.unwrap();
    assert!(matches!(again.0, SessionChange::NotFound));
    let fork = sessions
        .fork_session("s1", &new_session("f"))
        .await
        .unwrap();
    assert!(matches!(fork, SessionChange::NotFound));
    let refused = storage.insert_tasks(vec![run_of("nope", "r5")]).await;
    assert!(matches!(refused, Err(StorageError::SessionClosed(_))));
    assert!(matches!(
        storage.cancel("r3").await.unwrap(),
        Cancelled::AlreadyEnded(_)
    ));
}

async fn a_fork_copies_the_state_and_shares_nothing(storage: Arc<dyn Storage>) {
    let sessions = storage.sessions();
    let mut parent = new_session("p");
    parent.settings.labels.insert("agent".into(), "a".into());
    sessions.create_session(&parent).await.unwrap();
    storage.insert_tasks(vec![run_of("p", "r1")]).await.unwrap();
    storage.claim("n", 1, LEASE).await.unwrap();
    assert!(finish_run(&storage, ("r1", "n"), "p", 0, Some(b"parent")).await);

    let SessionChange::Done(child) = sessions.fork_session("p", &new_session("c")).await.unwrap()
    else {
        panic!("forked")
    };
    assert_eq!(child.forked_from.as_deref(), Some("p"));
    assert_eq!((child.runs, child.state_bytes), (0, 6));
    assert_eq!(
        child.settings.labels.get("agent").map(String::as_str),
        Some("a")
    );
    assert_eq!(
        stored_state(&storage, "c").await.as_deref(),
        Some(&b"parent"[..])
    );

    // Each side's runs change only its own state.
    storage.insert_tasks(vec![run_of("c", "c1")]).await.unwrap();
    storage.claim("n", 1, LEASE).await.unwrap();
    assert!(finish_run(&storage, ("c1", "n"), "c", 0, Some(b"child")).await);
    storage.insert_tasks(vec![run_of("p", "r2")]).await.unwrap();
    storage.claim("n", 1, LEASE).await.unwrap();
    assert!(finish_run(&storage, ("r2", "n"), "p", 0, Some(b"parent 2")).await);
    let state = |id: &'static str| {
        let storage = storage.clone();
        async move { stored_state(&storage, id).await.unwrap() }
    };
    assert_eq!(state("p").await, b"parent 2");
    assert_eq!(state("c").await, b"child");
    sessions.delete_session("p").await.unwrap();
    assert_eq!(state("c").await, b"child", "deleting one leaves the other");
}

async fn idle_and_expired_sessions_end_and_are_pruned_later(storage: Arc<dyn Storage>) {
    let sessions = storage.sessions();
    let now = now_ms();
    let mut idle = new_session("idle");
    idle.settings.idle_timeout = Some(1);
    idle.settings.labels.insert("k".into(), "v".into());
    sessions.create_session(&idle).await.unwrap();
    let mut short = new_session("short");
    short.settings.ttl = Some(1);
    sessions.create_session(&short).await.unwrap();
    let mut busy = new_session("busy");
    busy.settings.idle_timeout = Some(1);
    sessions.create_session(&busy).await.unwrap();
    storage
        .insert_tasks(vec![run_of("busy", "b1")])
        .await
        .unwrap();
    sessions
        .create_session(&new_session("fresh"))
        .await
        .unwrap();

    let later = now + 1500;
    let record = sessions.session("idle").await.unwrap().unwrap();
    assert!(record.takes_runs(now) && !record.takes_runs(later));
    let mut ended = sessions.end_expired_sessions(later).await.unwrap();
    ended.sort();
    assert_eq!(
        ended,
        ["idle", "short"],
        "a session with a run pending is not idle"
    );
    let reason = |id: &'static str| {
        let sessions = storage.sessions();
        async move { sessions.session(id).await.unwrap().unwrap().end_reason }
    };
    assert_eq!(reason("idle").await.as_deref(), Some("idle"));
    assert_eq!(reason("short").await.as_deref(), Some("expired"));
    assert_eq!(reason("busy").await, None);
    assert_eq!(sessions.open_sessions().await.unwrap(), 2);
    assert!(
        sessions
            .end_expired_sessions(later)
            .await
            .unwrap()
            .is_empty()
    );

    // Past retention, ended sessions go; open ones stay.
    assert_eq!(sessions.prune_sessions(later, 10).await.unwrap(), 0);
    assert_eq!(sessions.prune_sessions(later + 1, 1).await.unwrap(), 1);
    assert_eq!(sessions.prune_sessions(later + 1, 10).await.unwrap(), 1);
    assert!(sessions.session("idle").await.unwrap().is_none());
    assert!(sessions.session("short").await.unwrap().is_none());
    assert!(sessions.session("busy").await.unwrap().is_some());
    assert_eq!(sessions.open_sessions().await.unwrap(), 2);
}

async fn sessions_list_by_status_and_label(storage: Arc<dyn Storage>) {
    let sessions = storage.sessions();
    for id in ["s1", "s2", "s3"] {
        let mut new = new_session(id);
        new.settings.labels.insert("team".into(), id.into());
        if id == "s3" {
            new.settings.idle_timeout = Some(1);
        }
        sessions.create_session(&new).await.unwrap();
    }
    storage.insert_tasks(vec![run_of("s2", "r")]).await.unwrap();
    let ended = sessions
        .end_expired_sessions(now_ms() + 1500)
        .await
        .unwrap();
    assert_eq!(ended, ["s3"]);
    let list = |filter: SessionFilter| {
        let sessions = storage.sessions();
        async move {
            let found = sessions.list_sessions(&filter).await.unwrap();
            found.into_iter().map(|s| s.id).collect::<Vec<_>>()
        }
    };
    let all = SessionFilter {
        limit: 10,
        ..SessionFilter::default()
    };
    assert_eq!(list(all.clone()).await, ["s3", "s2", "s1"], "newest first");
    for (status, ids) in [
        (SessionStatus::Idle, ["s1"]),
        (SessionStatus::Running, ["s2"]),
        (SessionStatus::Ended, ["s3"]),
    ] {
        let filter = SessionFilter {
            status: Some(status),
            ..all.clone()
        };
        assert_eq!(list(filter).await, ids, "{status:?}");
    }
    let labelled = SessionFilter {
        label: Some(("team".into(), "s2".into())),
        ..all.clone()
    };
    assert_eq!(list(labelled).await, ["s2"]);
    let page = SessionFilter {
        before_id: Some("s3".into()),
        limit: 1,
        ..all
    };
    assert_eq!(list(page).await, ["s2"]);
}
