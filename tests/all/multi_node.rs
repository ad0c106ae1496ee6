//! Several `sandrun serve` processes sharing one queue on the real
//! PostgreSQL server: work is shared and runs once, a killed node's tasks
//! run again elsewhere and its late result is refused, and any node
//! answers (and cancels) for a task running on another.

use std::collections::HashMap;
use std::process::Child;
use std::time::Duration;

use futures::StreamExt;
use sandrun::storage::{RunEnd, Storage, TaskRecord};
use sandrun_api::{ModuleInfo, NodeList, NodeStatus, Task, TaskStatus};
use serde_json::json;

use crate::api_sessions::{open_session_at, run_at, value_at};
use crate::crash::start_server;
use crate::postgres::Schema;
use crate::storage::postgres_storage;
use crate::support::{post_task, sandbox};

/// A node process, killed when dropped.
struct Node {
    child: Child,
    address: String,
}

impl Node {
    fn start(schema: &Schema, extra: &[&str]) -> Node {
        let (child, address) = start_server(&schema.url, extra);
        Node { child, address }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn fresh(test: &str) -> Option<Schema> {
    let schema = Schema::fresh(test).await?;
    // Compile the runtime once before the nodes load it.
    tokio::task::spawn_blocking(|| sandbox().clone())
        .await
        .unwrap();
    Some(schema)
}

async fn task(http: &reqwest::Client, node: &Node, id: &str) -> Task {
    http.get(node.url(&format!("/v1/tasks/{id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn until(
    http: &reqwest::Client,
    node: &Node,
    id: &str,
    done: impl Fn(&Task) -> bool,
) -> Task {
    for _ in 0..600 {
        let t = task(http, node, id).await;
        if done(&t) {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("task {id} never got there");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_share_2000_tasks_and_run_each_once() {
    let Some(schema) = fresh("multi_node::three_nodes_share_2000_tasks_and_run_each_once").await
    else {
        return;
    };
    let nodes: Vec<Node> = (0..3)
        .map(|_| Node::start(&schema, &["--slots", "4"]))
        .collect();
    let http = reqwest::Client::new();
    let module = wat::parse_str(
        r#"(module (memory (export "memory") 1) (func (export "run") (result i32) i32.const 0))"#,
    )
    .unwrap();
    let info: ModuleInfo = http
        .post(nodes[0].url("/v1/modules"))
        .body(module)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Submitted through every node, in batches.
    for (i, node) in nodes.iter().cycle().take(4).enumerate() {
        let tasks: Vec<_> = (0..500)
            .map(|n| json!({"runtime": "wasm", "module": info.hash, "labels": {"n": format!("{i}-{n}")}}))
            .collect();
        let response = http
            .post(node.url("/v1/batches"))
            .json(&json!({"tasks": tasks}))
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{}",
            response.text().await.unwrap()
        );
    }
    let storage = postgres_storage(&schema, true).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    while storage.queue_depth().await.unwrap().queued > 0 || running(&storage).await > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "2,000 tasks did not finish in 90 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut conn = schema.connect().await;
    let rows: Vec<(String, String, i64)> = sqlx::query_as("SELECT id, status, attempt FROM tasks")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2000, "none lost");
    for (id, status, attempt) in &rows {
        assert_eq!((status.as_str(), *attempt), ("succeeded", 1), "{id}");
    }
    let runs: Vec<(String, i64)> = sqlx::query_as(
        "SELECT task_id, COUNT(*) FROM task_events WHERE data LIKE '%\"running\"%' GROUP BY task_id",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(runs.len(), 2000);
    assert!(
        runs.iter().all(|(_, n)| *n == 1),
        "each task ran exactly once"
    );

    let list: NodeList = http
        .get(nodes[2].url("/v1/nodes"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.nodes.len(), 3);
    assert!(
        list.nodes
            .iter()
            .all(|n| n.status == NodeStatus::Alive && n.slots == 4)
    );
    let mut addresses: Vec<String> = list
        .nodes
        .iter()
        .map(|n| format!("http://{}", n.address))
        .collect();
    let mut expected: Vec<String> = nodes.iter().map(|n| n.address.clone()).collect();
    addresses.sort();
    expected.sort();
    assert_eq!(addresses, expected);
}

async fn running(storage: &dyn Storage) -> usize {
    let filter = sandrun::storage::TaskFilter {
        status: Some(TaskStatus::Running),
        limit: 10,
        ..Default::default()
    };
    storage.list_tasks(&filter).await.unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_nodes_tasks_rerun_elsewhere_and_its_late_result_is_refused() {
    let Some(schema) =
        fresh("multi_node::a_killed_nodes_tasks_rerun_elsewhere_and_its_late_result_is_refused")
            .await
    else {
        return;
    };
    let lease = ["--lease", "2s", "--slots", "2"];
    let mut doomed = Node::start(&schema, &lease);
    let http = reqwest::Client::new();
    let mut ids = Vec::new();
    for i in 0..2 {
        let body = json!({"runtime": "python", "code": format!("import time\ntime.sleep(1)\nprint('done {i}')")});
        let t: Task = post_task(&http, doomed.url("/v1/tasks"), &body).await;
        ids.push(t.id);
    }
    for id in &ids {
        until(&http, &doomed, id, |t| t.status == TaskStatus::Running).await;
    }
    let storage = postgres_storage(&schema, true).await;
    let victim: TaskRecord = storage.task(&ids[0]).await.unwrap().unwrap();
    let mut conn = schema.connect().await;
    let doomed_id: String = sqlx::query_scalar("SELECT lease_owner FROM tasks WHERE id = $1")
        .bind(&victim.id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    doomed.kill();

    let survivor = Node::start(&schema, &lease);
    for id in &ids {
        let ended = until(&http, &survivor, id, |t| t.status.is_terminal()).await;
        assert_eq!(
            (ended.status, ended.attempt),
            (TaskStatus::Succeeded, 2),
            "{ended:?}"
        );
    }
    // The killed node's result for attempt 1 arrives late: refused.
    let late = storage
        .finish(&ids[0], 1, &doomed_id, RunEnd::failed("late", &[]))
        .await
        .unwrap();
    assert!(!late, "a stale attempt cannot overwrite the newer result");
    let kept = task(&http, &survivor, &ids[0]).await;
    assert_eq!(
        (kept.status, kept.attempt, kept.error),
        (TaskStatus::Succeeded, 2, None)
    );

    let list: NodeList = http
        .get(survivor.url("/v1/nodes"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let statuses: HashMap<&str, NodeStatus> = list
        .nodes
        .iter()
        .map(|n| (n.id.as_str(), n.status))
        .collect();
    assert_eq!(
        statuses.get(doomed_id.as_str()),
        Some(&NodeStatus::Dead),
        "{list:?}"
    );
    assert_eq!(
        statuses
            .values()
            .filter(|s| **s == NodeStatus::Alive)
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_sent_to_one_node_stops_a_task_running_on_another() {
    let Some(schema) =
        fresh("multi_node::a_cancel_sent_to_one_node_stops_a_task_running_on_another").await
    else {
        return;
    };
    let runner = Node::start(&schema, &["--slots", "1"]);
    let http = reqwest::Client::new();
    let body = json!({"runtime": "python", "code": "import time\nprint('started', flush=True)\ntime.sleep(60)"});
    let t: Task = post_task(&http, runner.url("/v1/tasks"), &body).await;
    until(&http, &runner, &t.id, |t| t.status == TaskStatus::Running).await;
    // The other node joins after the claim, so the task surely runs on `runner`.
    let other = Node::start(&schema, &["--slots", "1"]);

    let events = http
        .get(other.url(&format!("/v1/tasks/{}/events", t.id)))
        .send()
        .await
        .unwrap();
    let mut stream = events.bytes_stream();
    let mut seen = String::new();
    let read_until =
        async |stream: &mut (dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
               seen: &mut String,
               what: &str| {
            while !seen.contains(what) {
                let chunk = tokio::time::timeout(Duration::from_secs(20), stream.next())
                    .await
                    .unwrap_or_else(|_| panic!("no `{what}` from the other node: {seen}"))
                    .expect("the stream goes on")
                    .unwrap();
                seen.push_str(&String::from_utf8_lossy(&chunk));
            }
        };
    read_until(&mut stream, &mut seen, "started").await;

    let cancelled_at = std::time::Instant::now();
    let response = http
        .post(other.url(&format!("/v1/tasks/{}/cancel", t.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let waited: Task = http
        .get(other.url(&format!("/v1/tasks/{}", t.id)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(waited.id, t.id);
    read_until(&mut stream, &mut seen, "event: end").await;
    assert!(
        cancelled_at.elapsed() < Duration::from_secs(5),
        "stopped in {:?}",
        cancelled_at.elapsed()
    );
    let ended = task(&http, &runner, &t.id).await;
    assert_eq!(ended.status, TaskStatus::Cancelled, "{ended:?}");
    assert!(seen.contains("\"status\":\"running\""), "{seen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sessions_runs_go_to_either_node_and_see_one_state_in_order() {
    let Some(schema) =
        fresh("multi_node::a_sessions_runs_go_to_either_node_and_see_one_state_in_order").await
    else {
        return;
    };
    let mut first = Node::start(&schema, &["--slots", "2"]);
    let second = Node::start(&schema, &["--slots", "2"]);
    let http = reqwest::Client::new();
    let id = open_session_at(&http, &first.address, &json!({})).await.id;
    run_at(&http, &first.address, &id, "seen = [1]").await;
    assert_eq!(
        value_at(&http, &second.address, &id, "seen.append(2)\nseen").await,
        "[1, 2]"
    );
    // Sent to both nodes at once: still one at a time, in order.
    let mut runs = Vec::new();
    for n in 3..9 {
        let node = if n % 2 == 0 { &first } else { &second };
        let run: Task = post_task(
            &http,
            node.url(&format!("/v1/sessions/{id}/runs")),
            &json!({ "code": format!("seen.append({n})") }),
        )
        .await;
        runs.push(run.id);
    }
    for run in &runs {
        let ended = until(&http, &second, run, |t| t.status.is_terminal()).await;
        assert_eq!(ended.status, TaskStatus::Succeeded, "{ended:?}");
    }
    first.kill();
    assert_eq!(
        value_at(&http, &second.address, &id, "seen").await,
        "[1, 2, 3, 4, 5, 6, 7, 8]"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_run_on_a_killed_node_runs_again_elsewhere_from_the_state_before_it() {
    let Some(schema) = fresh(
        "multi_node::a_session_run_on_a_killed_node_runs_again_elsewhere_from_the_state_before_it",
    )
    .await
    else {
        return;
    };
    let lease = ["--lease", "2s"];
    let mut doomed = Node::start(&schema, &lease);
    let http = reqwest::Client::new();
    let id = open_session_at(&http, &doomed.address, &json!({})).await.id;
    run_at(&http, &doomed.address, &id, "seen = [1]").await;
    let run: Task = post_task(
        &http,
        doomed.url(&format!("/v1/sessions/{id}/runs")),
        &json!({ "code": "import time\nseen.append(2)\ntime.sleep(2)\nseen" }),
    )
    .await;
    until(&http, &doomed, &run.id, |t| t.status == TaskStatus::Running).await;
    doomed.kill();

    let survivor = Node::start(&schema, &lease);
    let ended = until(&http, &survivor, &run.id, |t| t.status.is_terminal()).await;
    assert_eq!(
        (ended.status, ended.attempt),
        (TaskStatus::Succeeded, 2),
        "{ended:?}"
    );
    assert_eq!(ended.result.unwrap().value.as_deref(), Some("[1, 2]"));
    assert_eq!(
        value_at(&http, &survivor.address, &id, "seen").await,
        "[1, 2]"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tasks_artifacts_are_served_by_a_node_that_did_not_run_it() {
    let Some(schema) =
        fresh("multi_node::a_tasks_artifacts_are_served_by_a_node_that_did_not_run_it").await
    else {
        return;
    };
    let runner = Node::start(&schema, &["--slots", "1"]);
    let http = reqwest::Client::new();
    let body = json!({"runtime": "python", "code": crate::artifacts::CHART});
    let t: Task = post_task(&http, runner.url("/v1/tasks?wait=60"), &body).await;
    assert_eq!(t.status, TaskStatus::Succeeded, "{t:?}");
    let made = &t.result.as_ref().unwrap().artifacts[0];
    // The other node starts after the task ended, so it surely did not run it.
    let other = Node::start(&schema, &["--slots", "1"]);
    let listed: sandrun_api::ArtifactList = http
        .get(other.url(&format!("/v1/tasks/{}/artifacts", t.id)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(&listed.artifacts, &[made.clone()]);
    let png = http
        .get(other.url(&format!("/v1/tasks/{}/artifacts/chart.png", t.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(png.headers()["content-type"], "image/png");
    let png = png.bytes().await.unwrap();
    assert_eq!(crate::artifacts::png_size(&png), (400, 300));
    assert_eq!(png.len() as u64, made.size);
}
