//! The dashboard in a real headless Chromium against a real server: pages
//! load without console errors, the queue moves on screen without a
//! reload, a task's page streams its output and steers it, filters narrow
//! the table, and with API keys nothing shows until a key is given. Each
//! page's screenshot is left in `<test target dir>/dashboard/`.

mod browser;

use std::time::Duration;

use sandrun_api::{BatchResponse, Task, TaskStatus};
use serde_json::{Value, json};

use crate::app::{TestApp, python, spawn_app, spawn_app_with};
use browser::Browser;

/// A browser on `path` of `app`, or `None` (the test skips) where Chromium
/// is not installed.
async fn open(app: &TestApp, path: &str) -> Option<Browser> {
    let browser = Browser::open().await?;
    browser.goto(&app.url(path)).await;
    Some(browser)
}

fn rows(id: &str) -> String {
    format!("return !!document.querySelector('tr[data-id=\"{id}\"]')")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_loads_without_console_errors_in_light_and_dark() {
    let app = spawn_app().await;
    let ok = app
        .run(python("print('hello from the dashboard test')"))
        .await;
    app.run(python("raise SystemExit(3)")).await;
    let batch = app
        .post(
            "/v1/batches",
            &json!({"tasks": [python("pass"), python("pass")]}),
        )
        .await;
    assert_eq!(batch.status(), 202);
    let session = app.post("/v1/sessions", &json!({})).await;
    assert_eq!(session.status(), 201);
    let upload = app
        .upload(std::fs::read(sandrun_test_guests::ECHO).unwrap())
        .await;
    assert!(upload.status().is_success());
    let Some(browser) = open(&app, "/").await else {
        return;
    };

    let pages = [
        ("overview", "/#/", ".card[data-status=failed] .n"),
        ("tasks", "/#/tasks", "tbody tr[data-id]"),
        ("task", &format!("/#/tasks/{}", ok.id) as &str, "#result dl"),
        ("run", "/#/run", "#run-code"),
        ("sessions", "/#/sessions", "tbody tr[data-id]"),
        ("batches", "/#/batches", "tbody tr"),
        ("modules", "/#/modules", "tbody tr"),
        ("nodes", "/#/nodes", "tbody tr"),
    ];
    for (name, path, shown) in pages {
        browser.goto(&app.url(path)).await;
        browser
            .until(
                &format!("{name} to show {shown}"),
                &format!("return !!document.querySelector('{shown}')"),
            )
            .await;
        browser.screenshot(name).await;
        let broken = browser.accessibility_violations().await;
        assert!(broken.is_empty(), "{name}: {broken:#?}");
    }
    browser.goto(&app.url(&format!("/#/tasks/{}", ok.id))).await;
    browser
        .until_text("#stdout", "hello from the dashboard test")
        .await;
    browser.until_text("#result", "succeeded").await;

    // Dark, from the toggle, kept across a reload.
    browser.goto(&app.url("/#/")).await;
    let light = browser
        .eval("return getComputedStyle(document.body).backgroundColor")
        .await;
    browser.click("#theme").await;
    browser.goto(&app.url("/#/")).await;
    browser
        .until(
            "the failed count",
            "return !!document.querySelector('.card[data-status=failed] .n')",
        )
        .await;
    let dark = browser
        .eval("return getComputedStyle(document.body).backgroundColor")
        .await;
    assert_ne!(light, dark);
    browser.screenshot("overview-dark").await;
    let broken = browser.accessibility_violations().await;
    assert!(broken.is_empty(), "overview, dark: {broken:#?}");
    browser.goto(&app.url(&format!("/#/tasks/{}", ok.id))).await;
    browser.until_text("#result", "succeeded").await;
    browser.screenshot("task-dark").await;
    let broken = browser.accessibility_violations().await;
    assert!(broken.is_empty(), "task, dark: {broken:#?}");

    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_and_the_table_move_without_a_reload() {
    let app = spawn_app().await;
    let Some(browser) = open(&app, "/#/").await else {
        return;
    };
    browser
        .until_text(".card[data-status=succeeded] .n", "0")
        .await;
    browser.eval("window.notReloaded = true; return true").await;
    app.run(python("pass")).await;
    browser
        .until_text(".card[data-status=succeeded] .n", "1")
        .await;
    browser
        .until_text("#ended-title + .panel", "1 tasks ended")
        .await;

    browser.goto(&app.url("/#/tasks")).await;
    browser.eval("window.notReloaded = true; return true").await;
    browser
        .until(
            "the table",
            "return !!document.querySelector('tbody tr[data-id]')",
        )
        .await;
    let task = app.submit(python("pass")).await;
    browser.until("the new task's row", &rows(&task.id)).await;
    assert_eq!(
        browser.eval("return window.notReloaded === true").await,
        true
    );
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tasks_page_streams_its_output_then_shows_its_result() {
    let app = spawn_app().await;
    let code = "import time\nprint('first line', flush=True)\ntime.sleep(3)\nprint('last line')";
    // The browser first, so its start is not part of the task's time.
    let Some(browser) = open(&app, "/").await else {
        return;
    };
    let task = app.submit(python(code)).await;
    browser
        .goto(&app.url(&format!("/#/tasks/{}", task.id)))
        .await;
    browser.until_text("#stdout", "first line").await;
    // Seen while it still ran: streamed, not read from the result.
    assert_eq!(app.task(&task.id).await.status, TaskStatus::Running);
    browser.until_text("h1", "running").await;
    browser.until_text("#result", "succeeded").await;
    browser.until_text("#stdout", "last line").await;
    browser.until_text("h1", "succeeded").await;
    // The request, highlighted, and the timeline from queued to the end.
    browser
        .until_text("pre[aria-label=Code] .tok-kw", "import")
        .await;
    browser.until_text(".timeline", "running, attempt 1").await;
    browser.until_text(".timeline", "succeeded").await;
    browser.screenshot("task-streamed").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cancel_button_stops_a_running_infinite_loop() {
    let app = spawn_app().await;
    let mut request = python("while True:\n    pass");
    request["limits"] = json!({"timeout_ms": 60_000});
    let task = app.submit(request).await;
    app.until_status(&task.id, TaskStatus::Running).await;
    let Some(browser) = open(&app, &format!("/#/tasks/{}", task.id)).await else {
        return;
    };
    browser.click("#cancel").await;
    let ended = tokio::time::timeout(Duration::from_secs(10), app.until_ended(&task.id))
        .await
        .expect("the cancel stops it");
    assert_eq!(ended.status, TaskStatus::Cancelled);
    browser.until_text("h1", "cancelled").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ended_tasks_can_be_run_again_and_deleted() {
    let app = spawn_app().await;
    let mut request = python("print('again')");
    request["labels"] = json!({"kind": "rerun"});
    let task = app.run(request).await;
    let Some(browser) = open(&app, &format!("/#/tasks/{}", task.id)).await else {
        return;
    };
    browser.click("#resubmit").await;
    let hash = browser
        .until(
            "a new task's page",
            &format!("return location.hash.startsWith('#/tasks/') && !location.hash.endsWith('{}') && location.hash", task.id),
        )
        .await;
    let again_id = hash
        .as_str()
        .unwrap()
        .trim_start_matches("#/tasks/")
        .to_owned();
    let again = app.until_ended(&again_id).await;
    assert_eq!(again.labels["kind"], "rerun");
    assert_eq!(again.result.unwrap().stdout.to_string_lossy(), "again\n");
    browser.until_text("#result", "succeeded").await;

    browser.click("#delete").await;
    browser.until_text("#delete", "sure").await;
    browser.click("#delete").await;
    browser
        .until("the tasks page", "return location.hash === '#/tasks'")
        .await;
    assert_eq!(
        app.get(&format!("/v1/tasks/{again_id}")).await.status(),
        404
    );
    browser
        .until("the first task still listed", &rows(&task.id))
        .await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_narrow_the_table() {
    let app = spawn_app().await;
    let labelled = |team: &str| {
        let mut request = python("pass");
        request["labels"] = json!({ "team": team });
        request
    };
    let red: Vec<Task> = vec![
        app.run(labelled("red")).await,
        app.run(labelled("red")).await,
    ];
    let blue = app.run(labelled("blue")).await;
    let failed = app.run(python("raise SystemExit(1)")).await;
    let Some(browser) = open(&app, "/#/tasks").await else {
        return;
    };
    browser.until("the blue task", &rows(&blue.id)).await;

    browser.type_into("#f-label", "team=red").await;
    browser.click("form.filters button[type=submit]").await;
    browser
        .until(
            "two rows",
            "return document.querySelectorAll('tbody tr[data-id]').length === 2",
        )
        .await;
    for task in &red {
        assert_eq!(browser.eval(&rows(&task.id)).await, true);
    }
    assert_eq!(browser.eval(&rows(&blue.id)).await, false);
    assert!(
        browser
            .eval("return location.hash")
            .await
            .as_str()
            .unwrap()
            .contains("label=team%3Dred")
    );

    browser.goto(&app.url("/#/tasks?status=failed")).await;
    browser.until("the failed task", &rows(&failed.id)).await;
    assert_eq!(
        browser
            .eval("return document.querySelectorAll('tbody tr[data-id]').length")
            .await,
        1
    );
    browser.screenshot("tasks-filtered").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_box_runs_python_and_shows_what_it_displayed_and_left() {
    let app = spawn_app().await;
    let Some(browser) = open(&app, "/#/run").await else {
        return;
    };
    let code = "import matplotlib.pyplot as plt\n\
                import pandas as pd\n\
                plt.plot([1, 3, 2])\n\
                plt.savefig('/output/chart.png')\n\
                open('/output/note.txt', 'w').write('kept')\n\
                print('drawn')\n\
                pd.DataFrame({'a': [1, 2], 'b': [3, 4]})";
    browser.type_into("#run-code", code).await;
    browser
        .click("form[aria-label='Run Python'] button[type=submit]")
        .await;
    browser
        .until(
            "the task's page",
            "return location.hash.startsWith('#/tasks/')",
        )
        .await;
    browser.until_text("#result", "succeeded").await;
    browser.until_text("#stdout", "drawn").await;
    // The figure left open is displayed; the files are listed, the image shown.
    browser
        .until(
            "the displayed chart",
            "const i = document.querySelector('#rich img'); return !!i && i.naturalWidth > 0",
        )
        .await;
    browser.until_text("#artifacts", "note.txt").await;
    browser
        .until(
            "the chart artifact",
            "const i = document.querySelector('#artifacts img'); return !!i && i.naturalWidth > 0",
        )
        .await;
    // The trailing DataFrame's HTML, in its sandboxed frame.
    browser
        .until(
            "the displayed table",
            "return !!document.querySelector('#rich iframe')",
        )
        .await;
    browser.client.enter_frame(0).await.unwrap();
    browser
        .until(
            "the table's cells",
            "return document.querySelectorAll('table td').length === 4",
        )
        .await;
    browser.client.enter_parent_frame().await.unwrap();
    browser
        .eval("document.getElementById('t-rich').scrollIntoView(); return true")
        .await;
    browser.screenshot("task-rich").await;
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_links_to_its_tasks() {
    let app = spawn_app().await;
    let response = app
        .post(
            "/v1/batches",
            &json!({"tasks": [python("pass"), python("pass"), python("pass")]}),
        )
        .await;
    let batch: BatchResponse = response.json().await.unwrap();
    let Some(browser) = open(&app, "/#/batches").await else {
        return;
    };
    browser
        .click(&format!("a[href='#/tasks?batch={}']", batch.id))
        .await;
    browser
        .until(
            "its three tasks",
            "return document.querySelectorAll('tbody tr[data-id]').length === 3",
        )
        .await;
    for task in &batch.tasks {
        assert_eq!(browser.eval(&rows(&task.id)).await, true);
    }
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_api_keys_nothing_shows_without_a_key_and_everything_with_it() {
    let app = spawn_app_with(|args| args.api_keys = vec!["dashboard-key".into()]).await;
    let task: Value = app
        .http
        .post(app.url("/v1/tasks?wait=30"))
        .bearer_auth("dashboard-key")
        .json(&python("print('secret output')"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = task["id"].as_str().unwrap().to_owned();
    let Some(browser) = open(&app, "/#/tasks").await else {
        return;
    };
    browser
        .until(
            "the key dialog",
            "return document.getElementById('key-dialog').open",
        )
        .await;
    browser.until_text("main", "requires an API key").await;
    assert_eq!(browser.eval(&rows(&id)).await, false);
    assert_eq!(
        browser
            .eval("return document.querySelectorAll('.card').length")
            .await,
        0
    );
    browser.screenshot("key-needed").await;
    let broken = browser.accessibility_violations().await;
    assert!(broken.is_empty(), "the key dialog: {broken:#?}");

    browser.type_into("#key-input", "wrong-key").await;
    browser.click("#key-form button[type=submit]").await;
    browser.until_text("#key-error", "not accepted").await;
    assert_eq!(browser.eval(&rows(&id)).await, false);

    browser.type_into("#key-input", "dashboard-key").await;
    browser.click("#key-form button[type=submit]").await;
    browser.until("the task's row", &rows(&id)).await;
    browser.goto(&app.url(&format!("/#/tasks/{id}"))).await;
    browser.until_text("#stdout", "secret output").await;
    browser.goto(&app.url("/#/")).await;
    browser
        .until_text(".card[data-status=succeeded] .n", "1")
        .await;
    browser.until_text("#live", "live").await;
    // Kept for the tab, never in the address.
    let url = browser.eval("return location.href").await;
    assert!(!url.as_str().unwrap().contains("dashboard-key"), "{url}");
    assert_eq!(
        browser
            .eval("return sessionStorage.getItem('sandrun.apiKey')")
            .await,
        "dashboard-key"
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_runs_cell_by_cell_and_forks_from_its_page() {
    let app = spawn_app().await;
    let Some(browser) = open(&app, "/#/sessions").await else {
        return;
    };
    browser.click("#new-session").await;
    let hash = browser
        .until(
            "the new session's page",
            "return location.hash.startsWith('#/sessions/') && location.hash",
        )
        .await;
    let id = hash
        .as_str()
        .unwrap()
        .trim_start_matches("#/sessions/")
        .to_owned();
    browser.until_text("h1", "idle").await;

    let run = async |code: &str, shown: &str| {
        browser.type_into("#cell-code", code).await;
        browser.click("#cell button[type=submit]").await;
        browser
            .until_text("ol.cells li.cell:last-child", shown)
            .await;
    };
    run("x = 41\nprint('set')", "set").await;
    run("x + 1", "Out[2]: 42").await;
    browser.screenshot("session").await;
    let broken = browser.accessibility_violations().await;
    assert!(broken.is_empty(), "session: {broken:#?}");
    let listed: Value = app
        .get(&format!("/v1/sessions/{id}/runs"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["tasks"].as_array().unwrap().len(), 2);

    // A fork starts from the same state, and goes its own way.
    browser.click("#fork").await;
    browser
        .until(
            "the fork's page",
            &format!(
                "return location.hash.startsWith('#/sessions/') && !location.hash.endsWith('{id}')"
            ),
        )
        .await;
    browser.until_text("dl.facts", "Forked from").await;
    run("x", "Out[1]: 41").await;

    // A limit rolls the run back, and the page says so.
    browser.type_into("#cell-timeout", "1").await;
    run("x = 0\nwhile True: pass", "rolled back").await;
    run("x", "Out[3]: 41").await;
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    browser.close().await;
}
