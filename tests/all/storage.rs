//! The storage contract, one body per test run against both backends: a
//! SQLite file and a fresh schema on the real PostgreSQL server.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use sandrun::storage::{
    Cancelled, Hint, Inserted, NameOutcome, NewTask, NodeRecord, PostgresOptions, PostgresStorage,
    RunEnd, SqliteStorage, Storage, now_ms,
};
use sandrun_api::{TaskEvent, TaskRequest, TaskStatus};

use crate::postgres::Schema;

fn new_task(id: &str) -> NewTask {
    let request: TaskRequest =
        serde_json::from_value(serde_json::json!({"runtime": "python", "code": "pass"})).unwrap();
    NewTask {
        id: id.into(),
        request,
        request_hash: "h".into(),
        max_attempts: 2,
        created_at: now_ms(),
        claim_for: None,
        session_id: None,
        batch_id: None,
    }
}

/// What keeps a test's database alive.
#[allow(dead_code)]
enum Keep {
    Dir(tempfile::TempDir),
    Schema(Schema),
}

async fn sqlite() -> (Keep, Arc<dyn Storage>) {
    let dir = tempfile::tempdir().unwrap();
    let storage = SqliteStorage::open(&dir.path().join("db.sqlite"))
        .await
        .unwrap();
    (Keep::Dir(dir), Arc::new(storage))
}

pub async fn postgres_storage(schema: &Schema, poll_only: bool) -> PostgresStorage {
    PostgresStorage::open(&PostgresOptions {
        url: schema.url.clone(),
        max_connections: 12,
        poll_only,
    })
    .await
    .unwrap()
}

async fn postgres(test: &str) -> Option<(Keep, Arc<dyn Storage>)> {
    let schema = Schema::fresh(test).await?;
    let storage = postgres_storage(&schema, false).await;
    Some((Keep::Schema(schema), Arc::new(storage)))
}

/// `storage::NAME::sqlite` and `storage::NAME::postgres` for each body
/// (in this module or, by path, in a child).
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let (_keep, storage) = crate::storage::sqlite().await;
                super::$name(storage).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if let Some((_keep, storage)) = crate::storage::postgres(concat!(module_path!(), "::", stringify!($name))).await {
                    super::$name(storage).await;
                }
            }
        }
    )*};
}

on_both_backends!(
    a_stale_runner_cannot_overwrite_a_newer_result,
    infrastructure_failures_retry_until_attempts_run_out,
    backoff_delays_the_retry,
    retention_prunes_old_ended_tasks_in_batches,
    concurrent_claims_take_each_task_once,
    claims_take_priority_then_age,
    events_reach_a_concurrent_reader_complete_and_in_order,
    a_cancel_reaches_the_runner_through_renewal,
    nodes_heartbeat_and_are_forgotten,
    kv_values_are_kept_per_namespace,
    progress_is_fenced_on_the_attempt,
    module_names_never_move,
    reads_then_writes_survive_a_concurrent_writer,
    a_task_cancelled_while_running_never_runs_again,
);

mod activity;
mod artifacts;
mod dependencies;
mod sessions;

async fn a_stale_runner_cannot_overwrite_a_newer_result(storage: Arc<dyn Storage>) {
    storage.insert_tasks(vec![new_task("t1")]).await.unwrap();
    let lease = Duration::from_millis(1);
    let first = storage.claim("node-a", 1, lease).await.unwrap();
    assert_eq!(first[0].attempt, 1);
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(storage.reclaim_expired().await.unwrap(), 1);
    let second = storage
        .claim("node-b", 1, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(second[0].attempt, 2);

    let stale_output = [stdout("from attempt 1\n")];
    let late = storage
        .finish("t1", 1, "node-a", RunEnd::failed("late", &stale_output))
        .await
        .unwrap();
    assert!(!late, "the old attempt's result is refused");
    assert!(
        storage
            .renew("node-a", &[("t1".into(), 1)], lease)
            .await
            .unwrap()
            .is_empty()
    );
    let last_output = [stdout("from attempt 2\n")];
    let end = RunEnd {
        events: &last_output,
        ..ended(TaskStatus::Succeeded)
    };
    assert!(storage.finish("t1", 2, "node-b", end).await.unwrap());
    let task = storage.task("t1").await.unwrap().unwrap();
    assert_eq!(
        (task.status, task.attempt, task.error),
        (TaskStatus::Succeeded, 2, None)
    );
    // The winner's last output lands just before its final status; the
    // stale runner's never lands.
    let events: Vec<TaskEvent> = storage
        .events_after("t1", 0)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, event)| untimed(event))
        .collect();
    let tail = &events[events.len() - 2..];
    assert_eq!(
        tail,
        [
            stdout("from attempt 2\n"),
            TaskEvent::Status {
                status: TaskStatus::Succeeded,
                attempt: 2,
                at: None
            }
        ]
    );
    assert!(!events.contains(&stdout("from attempt 1\n")));
}

fn stdout(text: &str) -> TaskEvent {
    TaskEvent::Stdout { text: text.into() }
}

/// `event` without the time a status event carries, to compare.
fn untimed(event: TaskEvent) -> TaskEvent {
    match event {
        TaskEvent::Status {
            status, attempt, ..
        } => TaskEvent::Status {
            status,
            attempt,
            at: None,
        },
        other => other,
    }
}

/// A run's end with `status` and nothing else to record.
fn ended(status: TaskStatus) -> RunEnd<'static> {
    RunEnd {
        status,
        result: None,
        error: None,
        events: &[],
        session: None,
        artifacts: &[],
    }
}

async fn infrastructure_failures_retry_until_attempts_run_out(storage: Arc<dyn Storage>) {
    storage.insert_tasks(vec![new_task("t1")]).await.unwrap();
    let lease = Duration::from_secs(60);
    storage.claim("n", 1, lease).await.unwrap();
    assert!(
        storage
            .release("t1", 1, "n", Duration::ZERO, "disk on fire", true)
            .await
            .unwrap()
    );
    assert_eq!(
        storage.task("t1").await.unwrap().unwrap().status,
        TaskStatus::Queued
    );
    storage.claim("n", 1, lease).await.unwrap();
    assert!(
        storage
            .release("t1", 2, "n", Duration::ZERO, "disk on fire", true)
            .await
            .unwrap()
    );
    let task = storage.task("t1").await.unwrap().unwrap();
    assert_eq!(task.status, TaskStatus::Failed);
    assert!(task.error.unwrap().contains("no attempts left"));
}

async fn backoff_delays_the_retry(storage: Arc<dyn Storage>) {
    storage.insert_tasks(vec![new_task("t1")]).await.unwrap();
    storage
        .claim("n", 1, Duration::from_secs(60))
        .await
        .unwrap();
    storage
        .release("t1", 1, "n", Duration::from_secs(60), "flaky", true)
        .await
        .unwrap();
    assert!(
        storage
            .claim("n", 1, Duration::from_secs(60))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn retention_prunes_old_ended_tasks_in_batches(storage: Arc<dyn Storage>) {
    let ids: Vec<String> = (0..5).map(|i| format!("t{i}")).collect();
    storage
        .insert_tasks(ids.iter().map(|id| new_task(id)).collect())
        .await
        .unwrap();
    let claimed = storage
        .claim("n", 4, Duration::from_secs(60))
        .await
        .unwrap();
    for task in &claimed {
        storage
            .finish(&task.id, task.attempt, "n", ended(TaskStatus::Succeeded))
            .await
            .unwrap();
    }
    let later = now_ms() + 1000;
    assert_eq!(storage.prune(later, 3).await.unwrap(), 3);
    assert_eq!(storage.prune(later, 3).await.unwrap(), 1);
    assert_eq!(storage.prune(later, 3).await.unwrap(), 0);
    // The one still queued is kept, whatever its age.
    assert_eq!(
        storage.task("t4").await.unwrap().unwrap().status,
        TaskStatus::Queued
    );
}

async fn concurrent_claims_take_each_task_once(storage: Arc<dyn Storage>) {
    let ids: Vec<String> = (0..300).map(|i| format!("t{i:03}")).collect();
    storage
        .insert_tasks(ids.iter().map(|id| new_task(id)).collect())
        .await
        .unwrap();
    let depth = storage.queue_depth().await.unwrap();
    assert_eq!((depth.queued, depth.running), (ids.len() as u64, 0));
    let claimers = (0..8).map(|n| {
        let storage = storage.clone();
        tokio::spawn(async move {
            let owner = format!("node-{n}");
            let mut mine = Vec::new();
            loop {
                let batch = storage
                    .claim(&owner, 7, Duration::from_secs(60))
                    .await
                    .unwrap();
                if batch.is_empty() {
                    return mine;
                }
                assert!(batch.len() <= 7, "a claim takes at most its limit");
                mine.extend(batch.into_iter().map(|c| (c.id, c.attempt)));
            }
        })
    });
    let mut seen = HashSet::new();
    for claimer in claimers.collect::<Vec<_>>() {
        for (id, attempt) in claimer.await.unwrap() {
            assert_eq!(attempt, 1);
            assert!(seen.insert(id.clone()), "{id} was claimed twice");
        }
    }
    assert_eq!(seen.len(), ids.len(), "every task was claimed");
    let depth = storage.queue_depth().await.unwrap();
    assert_eq!((depth.queued, depth.running), (0, ids.len() as u64));
}

async fn claims_take_priority_then_age(storage: Arc<dyn Storage>) {
    let mut urgent = new_task("b-urgent");
    urgent.request.priority = 5;
    storage
        .insert_tasks(vec![new_task("a-old"), urgent, new_task("c-new")])
        .await
        .unwrap();
    let mut order = Vec::new();
    for _ in 0..3 {
        let claimed = storage
            .claim("n", 1, Duration::from_secs(60))
            .await
            .unwrap();
        order.extend(claimed.into_iter().map(|c| c.id));
    }
    assert_eq!(order, ["b-urgent", "a-old", "c-new"]);
}

async fn events_reach_a_concurrent_reader_complete_and_in_order(storage: Arc<dyn Storage>) {
    const WRITERS: usize = 6;
    const EACH: usize = 25;
    storage.insert_tasks(vec![new_task("t1")]).await.unwrap();
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let storage = storage.clone();
            tokio::spawn(async move {
                for i in 0..EACH {
                    let text = format!("{w}:{i}\n");
                    storage
                        .append_events("t1", &[TaskEvent::Stdout { text }])
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    // The reader follows with a cursor, as SSE does, while writers race.
    let mut cursor = 0;
    let mut read = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while read.len() < 1 + WRITERS * EACH {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} events read",
            read.len()
        );
        for (n, event) in storage.events_after("t1", cursor).await.unwrap() {
            assert!(n > cursor, "numbers increase");
            cursor = n;
            read.push(event);
        }
    }
    for writer in writers {
        writer.await.unwrap();
    }
    assert!(storage.events_after("t1", cursor).await.unwrap().is_empty());
    assert_eq!(
        untimed(read[0].clone()),
        TaskEvent::Status {
            status: TaskStatus::Queued,
            attempt: 0,
            at: None
        }
    );
    let mut next = BTreeMap::new();
    for event in &read[1..] {
        let TaskEvent::Stdout { text } = event else {
            panic!("unexpected {event:?}")
        };
        let (w, i) = text.trim().split_once(':').unwrap();
        let expected = next.entry(w.to_owned()).or_insert(0);
        assert_eq!(
            i.parse::<usize>().unwrap(),
            *expected,
            "writer {w} in order"
        );
        *expected += 1;
    }
    assert!(next.values().all(|&n| n == EACH), "no event lost: {next:?}");
}

async fn a_cancel_reaches_the_runner_through_renewal(storage: Arc<dyn Storage>) {
    storage
        .insert_tasks(vec![new_task("t1"), new_task("t2")])
        .await
        .unwrap();
    let lease = Duration::from_secs(60);
    let claimed = storage.claim("n", 1, lease).await.unwrap();
    assert_eq!(claimed[0].id, "t1");
    assert!(matches!(
        storage.cancel("t1").await.unwrap(),
        Cancelled::Requested(_)
    ));
    assert!(matches!(
        storage.cancel("t2").await.unwrap(),
        Cancelled::Now(_)
    ));
    let renewed = storage
        .renew("n", &[("t1".into(), 1)], lease)
        .await
        .unwrap();
    assert!(renewed[0].cancel_requested);
    assert!(
        storage
            .renew("other", &[("t1".into(), 1)], lease)
            .await
            .unwrap()
            .is_empty(),
        "only the owner renews"
    );
    assert!(
        storage
            .finish("t1", 1, "n", ended(TaskStatus::Cancelled))
            .await
            .unwrap()
    );
    assert!(matches!(
        storage.cancel("t1").await.unwrap(),
        Cancelled::AlreadyEnded(_)
    ));
}

async fn nodes_heartbeat_and_are_forgotten(storage: Arc<dyn Storage>) {
    let mut node = NodeRecord {
        id: "node-a".into(),
        address: "127.0.0.1:1".into(),
        slots: 4,
        running: 0,
        started_at: 1_000,
        last_heartbeat: 1_000,
    };
    storage.registry().heartbeat(&node).await.unwrap();
    node.running = 3;
    node.last_heartbeat = 2_000;
    storage.registry().heartbeat(&node).await.unwrap();
    let young = NodeRecord {
        id: "node-b".into(),
        started_at: 5_000,
        last_heartbeat: 5_000,
        ..node.clone()
    };
    storage.registry().heartbeat(&young).await.unwrap();
    assert_eq!(
        storage.registry().nodes().await.unwrap(),
        [node, young.clone()]
    );
    assert_eq!(storage.registry().forget_nodes(3_000).await.unwrap(), 1);
    assert_eq!(storage.registry().nodes().await.unwrap(), [young]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_hints_survive_a_lost_listening_connection() {
    let Some(schema) =
        Schema::fresh("storage::postgres_hints_survive_a_lost_listening_connection").await
    else {
        return;
    };
    let storage = postgres_storage(&schema, false).await;
    let mut hints = storage.listen().expect("Postgres listens");
    let next = async |hints: &mut tokio::sync::mpsc::UnboundedReceiver<Hint>| {
        tokio::time::timeout(Duration::from_secs(10), hints.recv())
            .await
            .expect("a hint within 10 s")
            .expect("the listener runs")
    };
    assert_eq!(next(&mut hints).await, Hint::Missed, "listening started");
    storage
        .insert_tasks((0..50).map(|i| new_task(&format!("t{i}"))).collect())
        .await
        .unwrap();
    assert_eq!(next(&mut hints).await, Hint::Queued);

    // Kill the listening connection from outside: it comes back.
    let mut admin = schema.connect().await;
    let schema_name = schema.url.rsplit("%3D").next().unwrap().to_owned();
    let listening = async |admin: &mut sqlx::PgConnection| -> Vec<i32> {
        sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND query LIKE $1",
        )
        .bind(format!("%{schema_name}%"))
        .fetch_all(admin)
        .await
        .unwrap()
    };
    let old = listening(&mut admin).await;
    assert_eq!(old.len(), 1, "one listening connection");
    sqlx::query("SELECT pg_terminate_backend($1)")
        .bind(old[0])
        .execute(&mut admin)
        .await
        .unwrap();
    assert_eq!(next(&mut hints).await, Hint::Missed);
    for _ in 0..100 {
        let now = listening(&mut admin).await;
        if now.len() == 1 && now != old {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_ne!(listening(&mut admin).await, old, "listening again");
    storage
        .claim("n", 1, Duration::from_secs(60))
        .await
        .unwrap();
    storage.cancel("t0").await.unwrap();
    let mut after = next(&mut hints).await;
    while after == Hint::Missed {
        after = next(&mut hints).await;
    }
    assert_eq!(
        after,
        Hint::Cancel("t0".into()),
        "one hint per transaction, not per row"
    );
    assert!(
        postgres_storage(&schema, true).await.listen().is_none(),
        "poll-only mode does not listen"
    );
}

#[tokio::test]
async fn sqlite_carries_no_hints() {
    let (_keep, storage) = sqlite().await;
    assert!(storage.listen().is_none());
}

async fn kv_values_are_kept_per_namespace(storage: Arc<dyn Storage>) {
    let value = serde_json::json!({"n": 1, "tags": ["a"]});
    assert_eq!(storage.guest().kv_get("a", "k").await.unwrap(), None);
    storage.guest().kv_put("a", "k", &value).await.unwrap();
    storage
        .guest()
        .kv_put("b", "k", &serde_json::json!(2))
        .await
        .unwrap();
    assert_eq!(storage.guest().kv_get("a", "k").await.unwrap(), Some(value));
    storage
        .guest()
        .kv_put("a", "k", &serde_json::json!("replaced"))
        .await
        .unwrap();
    assert_eq!(
        storage.guest().kv_get("a", "k").await.unwrap(),
        Some(serde_json::json!("replaced"))
    );
    assert!(storage.guest().kv_delete("a", "k").await.unwrap());
    assert!(!storage.guest().kv_delete("a", "k").await.unwrap());
    assert_eq!(
        storage.guest().kv_get("b", "k").await.unwrap(),
        Some(serde_json::json!(2))
    );
}

async fn progress_is_fenced_on_the_attempt(storage: Arc<dyn Storage>) {
    storage.insert_tasks(vec![new_task("t1")]).await.unwrap();
    storage
        .claim("n", 1, Duration::from_secs(60))
        .await
        .unwrap();
    storage.guest().set_progress("t1", 1, 0.25).await.unwrap();
    storage.guest().set_progress("t1", 7, 0.99).await.unwrap();
    assert_eq!(
        storage.task("t1").await.unwrap().unwrap().to_api().progress,
        Some(0.25)
    );
}

async fn module_names_never_move(storage: Arc<dyn Storage>) {
    let (a, b) = ("a".repeat(64), "b".repeat(64));
    let registry = storage.registry();
    registry.put_module(&a, b"one").await.unwrap();
    registry.put_module(&b, b"two").await.unwrap();
    assert_eq!(
        registry.name_module("tool", "1.0.0", &a).await.unwrap(),
        NameOutcome::Named
    );
    assert_eq!(
        registry.name_module("tool", "1.0.0", &a).await.unwrap(),
        NameOutcome::Named
    );
    assert_eq!(
        registry.name_module("tool", "1.0.0", &b).await.unwrap(),
        NameOutcome::Taken { hash: a.clone() }
    );
    assert_eq!(
        registry.name_module("tool", "2.0.0", &b).await.unwrap(),
        NameOutcome::Named
    );
    assert_eq!(registry.module_names(&a).await.unwrap(), ["tool@1.0.0"]);
    let mut versions = registry.module_versions("tool").await.unwrap();
    versions.sort();
    assert_eq!(versions, [("1.0.0".to_owned(), a), ("2.0.0".to_owned(), b)]);
}

/// A cancel, or a submission under an idempotency key, both reads and
/// writes; another connection's commits in between must not make it fail.
async fn reads_then_writes_survive_a_concurrent_writer(storage: Arc<dyn Storage>) {
    let ids: Vec<String> = (0..100).map(|i| format!("t{i}")).collect();
    storage
        .insert_tasks(ids.iter().map(|id| new_task(id)).collect())
        .await
        .unwrap();
    let writer = {
        let storage = storage.clone();
        tokio::spawn(async move {
            for i in 0..300 {
                let line = stdout(&format!("{i}\n"));
                storage.append_events("t0", &[line]).await.unwrap();
            }
        })
    };
    for id in &ids[1..] {
        let cancelled = storage.cancel(id).await.unwrap();
        assert!(matches!(cancelled, Cancelled::Now(_)), "{cancelled:?}");
        let mut keyed = new_task(&format!("{id}-keyed"));
        keyed.request.idempotency_key = Some(format!("key-{id}"));
        let again = NewTask {
            id: format!("{id}-again"),
            ..keyed.clone()
        };
        let first = storage.insert_tasks(vec![keyed]).await.unwrap();
        assert!(matches!(first[..], [Inserted::Created(_)]), "{first:?}");
        let second = storage.insert_tasks(vec![again]).await.unwrap();
        assert!(
            matches!(&second[..], [Inserted::Existing(r)] if r.id == format!("{id}-keyed")),
            "{second:?}"
        );
    }
    writer.await.unwrap();
}

/// A cancel requested while a task runs ends it as cancelled whatever
/// stops the run before the guest does: its node shutting down, an
/// infrastructure failure, or its node dying. It is never run again.
async fn a_task_cancelled_while_running_never_runs_again(storage: Arc<dyn Storage>) {
    storage
        .insert_tasks(vec![new_task("shutdown"), new_task("failure")])
        .await
        .unwrap();
    let held = storage
        .claim("n", 2, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(held.len(), 2);
    storage.insert_tasks(vec![new_task("dead")]).await.unwrap();
    let short = storage
        .claim("gone", 1, Duration::from_millis(1))
        .await
        .unwrap();
    assert_eq!(short[0].id, "dead");
    for id in ["shutdown", "failure", "dead"] {
        let cancelled = storage.cancel(id).await.unwrap();
        assert!(
            matches!(cancelled, Cancelled::Requested(_)),
            "{cancelled:?}"
        );
    }

    // The node shuts down before the guest stops: given back, attempt unused.
    let interrupted = "interrupted by a server shutdown";
    assert!(
        storage
            .release("shutdown", 1, "n", Duration::ZERO, interrupted, false)
            .await
            .unwrap()
    );
    // The run fails for the machine's sake, with attempts left.
    assert!(
        storage
            .release("failure", 1, "n", Duration::ZERO, "worker died", true)
            .await
            .unwrap()
    );
    // The node dies: its lease expires and is reclaimed.
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(storage.reclaim_expired().await.unwrap(), 1);

    for id in ["shutdown", "failure", "dead"] {
        let task = storage.task(id).await.unwrap().unwrap();
        assert_eq!(task.status, TaskStatus::Cancelled, "{id}");
        assert!(task.finished_at.is_some(), "{id} ended");
        assert!(task.error.unwrap().contains("cancelled"), "{id}");
        let events = storage.events_after(id, 0).await.unwrap();
        assert_eq!(
            untimed(events.last().unwrap().1.clone()),
            TaskEvent::Status {
                status: TaskStatus::Cancelled,
                attempt: 1,
                at: None
            },
            "{id}"
        );
        assert!(matches!(
            storage.cancel(id).await.unwrap(),
            Cancelled::AlreadyEnded(_)
        ));
    }
    assert_eq!(storage.queue_depth().await.unwrap().queued, 0);
    assert!(
        storage
            .claim("n", 10, Duration::from_secs(60))
            .await
            .unwrap()
            .is_empty(),
        "a cancelled task is never claimed again"
    );
    assert_eq!(
        storage.reclaim_all_running().await.unwrap(),
        0,
        "nothing is left running"
    );
}
