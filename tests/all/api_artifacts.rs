//! `/v1/tasks/{id}/artifacts` on a real server: listed as the result says,
//! served whole or by range with their media type, streamed across stored
//! chunks, kept per session run, gone with their task, and seen from a
//! second node on a shared Postgres queue.

use sandrun_api::{ArtifactList, Task, TaskStatus};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::api_errors::{problem, still_serving};
use crate::app::{TestApp, python, spawn_app};
use crate::artifacts::{CHART, png_size};

/// Bytes that are not the same in any two chunks.
const BIG: usize = (5 << 20) / 2;

async fn artifact(app: &TestApp, id: &str, path: &str, range: Option<&str>) -> reqwest::Response {
    let mut request = app
        .http
        .get(app.url(&format!("/v1/tasks/{id}/artifacts/{path}")));
    if let Some(range) = range {
        request = request.header("range", range);
    }
    request.send().await.unwrap()
}

async fn listed(app: &TestApp, id: &str) -> ArtifactList {
    let response = app.get(&format!("/v1/tasks/{id}/artifacts")).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn artifacts_are_listed_served_by_range_and_deleted_with_their_task() {
    let app = spawn_app().await;
    let code = format!(
        "{CHART}
import os, random
random.seed(7)
os.makedirs('/output/data dir')
open('/output/data dir/big.bin', 'wb').write(random.randbytes({BIG}))
open('/output/table.csv', 'w').write('a,b\\n1,2\\n')"
    );
    let task = app.run(python(&code)).await;
    assert_eq!(task.status, TaskStatus::Succeeded, "{task:?}");
    let result = task.result.as_ref().unwrap();
    let list = listed(&app, &task.id).await;
    assert_eq!(
        list.artifacts, result.artifacts,
        "listed as the result says"
    );
    let paths: Vec<&str> = list.artifacts.iter().map(|a| a.path.as_str()).collect();
    assert_eq!(paths, ["chart.png", "data dir/big.bin", "table.csv"]);

    let png = artifact(&app, &task.id, "chart.png", None).await;
    assert_eq!(png.status(), 200);
    let headers = png.headers().clone();
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["accept-ranges"], "bytes");
    let etag = format!("\"{}\"", list.artifacts[0].sha256);
    assert_eq!(headers["etag"], etag.as_str());
    let png = png.bytes().await.unwrap();
    assert_eq!(headers["content-length"], png.len().to_string().as_str());
    assert_eq!(png_size(&png), (400, 300));

    // A file of several stored chunks streams whole, and by ranges that
    // cross a chunk's edge or take its tail.
    let big = artifact(&app, &task.id, "data%20dir/big.bin", None).await;
    assert_eq!(big.headers()["content-type"], "application/octet-stream");
    let big = big.bytes().await.unwrap();
    assert_eq!(big.len(), BIG);
    assert_eq!(hex::encode(Sha256::digest(&big)), list.artifacts[1].sha256);
    let edge = (1 << 20) - 10;
    for (range, from, to) in [
        (format!("bytes={edge}-{}", edge + 20), edge, edge + 20),
        ("bytes=-7".to_string(), BIG - 7, BIG - 1),
        (format!("bytes={}-", BIG - 3), BIG - 3, BIG - 1),
        (format!("bytes=0-{}", BIG * 2), 0, BIG - 1),
    ] {
        let part = artifact(&app, &task.id, "data%20dir/big.bin", Some(&range)).await;
        assert_eq!(part.status(), 206, "{range}");
        assert_eq!(
            part.headers()["content-range"],
            format!("bytes {from}-{to}/{BIG}").as_str()
        );
        assert_eq!(part.bytes().await.unwrap(), big[from..=to], "{range}");
    }
    // Several ranges: the whole file, as a server may answer.
    let several = artifact(&app, &task.id, "table.csv", Some("bytes=0-1,4-5")).await;
    assert_eq!(several.status(), 200);
    assert_eq!(several.headers()["content-type"], "text/csv");
    assert_eq!(several.bytes().await.unwrap(), "a,b\n1,2\n");
    // Another unit is not ours: ignored.
    let other = artifact(&app, &task.id, "table.csv", Some("items=0-1")).await;
    assert_eq!(other.status(), 200);

    for range in ["bytes=100-", "bytes=9-2", "bytes=x"] {
        let refused = artifact(&app, &task.id, "table.csv", Some(range)).await;
        assert_eq!(refused.headers()["content-range"], "bytes */8", "{range}");
        let p = problem(refused, 416).await;
        assert_eq!(p.kind, "urn:sandrun:problem:range-not-satisfiable");
    }
    let p = problem(artifact(&app, &task.id, "nope.png", None).await, 404).await;
    assert!(p.detail.contains("no artifact nope.png"), "{}", p.detail);
    let p = problem(app.get("/v1/tasks/no-such-task/artifacts").await, 404).await;
    assert!(p.detail.contains("no-such-task"), "{}", p.detail);
    let escape = artifact(&app, &task.id, "..%2F..%2Fetc%2Fpasswd", None).await;
    assert_eq!(escape.status(), 404);

    // A task with none lists none; deleting a task deletes its artifacts.
    let none = app.run(python("print(1)")).await;
    assert!(listed(&app, &none.id).await.artifacts.is_empty());
    let deleted = app
        .http
        .delete(app.url(&format!("/v1/tasks/{}", task.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    problem(
        app.get(&format!("/v1/tasks/{}/artifacts", task.id)).await,
        404,
    )
    .await;
    problem(artifact(&app, &task.id, "chart.png", None).await, 404).await;
    still_serving(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_session_run_keeps_its_own_artifacts_and_starts_with_output_empty() {
    let app = spawn_app().await;
    let session = app.open_session(json!({})).await;
    let first = app
        .session_run(
            &session.id,
            "import os\nopen('/output/a.txt', 'w').write('one')\nopen('/tmp/kept', 'w').write('t')",
        )
        .await;
    let second = app
        .session_run(
            &session.id,
            "import os\nprint(os.listdir('/output'), os.listdir('/tmp'))\nopen('/output/b.txt', 'w').write('two')",
        )
        .await;
    let result = second.result.as_ref().unwrap();
    assert_eq!(result.stdout.to_string_lossy(), "[] ['kept']\n");
    for (run, path, body) in [(&first, "a.txt", "one"), (&second, "b.txt", "two")] {
        let list = listed(&app, &run.id).await;
        let paths: Vec<&str> = list.artifacts.iter().map(|a| a.path.as_str()).collect();
        assert_eq!(paths, [path]);
        let got = artifact(&app, &run.id, path, None).await;
        assert_eq!(got.headers()["content-type"], "text/plain");
        assert_eq!(got.text().await.unwrap(), body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn artifact_limits_above_the_maximum_are_refused_by_name() {
    let app = spawn_app().await;
    let maximum = crate::support::sandbox().policy().maximum;
    for (field, value) in [
        ("artifacts", maximum.artifacts + 1),
        ("artifact_bytes", maximum.artifact_bytes + 1),
    ] {
        let body = json!({"runtime": "python", "code": "", "limits": {field: value}});
        let p = problem(app.post("/v1/tasks", &body).await, 400).await;
        assert_eq!(p.field.as_deref(), Some(format!("limits.{field}").as_str()));
    }
    let capped = json!({"runtime": "python", "limits": {"artifacts": 1},
        "code": "for n in 'ab': open(f'/output/{n}', 'w').write(n)"});
    let task: Task = app.run(capped).await;
    let result = task.result.unwrap();
    assert_eq!(result.artifacts.len(), 1);
    assert!(result.artifacts_truncated);
    assert_eq!(result.limits.artifacts, 1);
}
