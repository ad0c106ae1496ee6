//! Connection limits, with real sockets on loopback: idle clients, slow
//! clients and too many clients do not keep the server from the others.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::app::{TestApp, spawn_app, spawn_app_with};

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .expect("loopback connects")
}

/// Everything the server sends until it closes the connection, or `None`
/// if it is still open after `within`.
async fn until_closed(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(within, stream.read_to_end(&mut received)).await;
    match read {
        Ok(_) => Some(String::from_utf8_lossy(&received).into_owned()),
        Err(_) => None,
    }
}

/// Answered within a second, as a new client sees it.
async fn answers_at_once(app: &TestApp) {
    let asked = Instant::now();
    let response = reqwest::Client::new()
        .get(app.url("/healthz"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect("the server answers");
    assert_eq!(response.status(), 200);
    let took = asked.elapsed();
    assert!(took < Duration::from_secs(1), "answered after {took:?}");
}

// The test holds both ends of 2,000 connections in one process: about
// 4,100 file descriptors, under the usual hard limits and this suite's
// soft one, so it raises nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_idle_connections_do_not_keep_a_new_client_waiting() {
    let app = spawn_app().await;
    let mut idle = Vec::with_capacity(2000);
    for _ in 0..2000 {
        idle.push(connect(&app).await);
    }
    answers_at_once(&app).await;
    drop(idle);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slowloris_client_is_dropped_after_the_header_timeout() {
    let timeout = Duration::from_millis(500);
    let app = spawn_app_with(|args| args.header_read_timeout = Some(timeout.into())).await;
    // From before the connection: the server's clock starts when it
    // accepts, which may come before `connect` returns here.
    let started = Instant::now();
    let mut slow = connect(&app).await;
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // One more header line every 100ms, for up to 5s: never the blank line
    // that ends the headers.
    let (mut reader, mut writer) = slow.into_split();
    let trickle = tokio::spawn(async move {
        for i in 0..50 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let line = format!("X-Slow-{i}: y\r\n");
            if writer.write_all(line.as_bytes()).await.is_err() {
                return;
            }
        }
    });
    let mut received = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(3), reader.read_to_end(&mut received));
    // Dropped while still sending: a reset is as closed as an orderly end.
    let _ = closed.await.expect("the server closes the slow connection");
    let took = started.elapsed();
    assert!(took >= timeout, "closed after {took:?}, before the timeout");
    trickle.abort();
    assert_eq!(app.get("/healthz").await.status(), 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let app = spawn_app_with(|args| {
        args.header_read_timeout = Some(Duration::from_millis(300).into());
    })
    .await;
    let mut client = connect(&app).await;
    client
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answered = until_closed(&mut client, Duration::from_secs(3))
        .await
        .expect("the idle connection is closed");
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_is_408_and_the_server_keeps_serving() {
    let app = spawn_app_with(|args| {
        args.body_read_timeout = Some(Duration::from_millis(300).into());
    })
    .await;
    let stalled: [&[u8]; 2] = [
        b"POST /v1/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"runtime\": ",
        b"POST /v1/modules HTTP/1.1\r\nHost: x\r\nContent-Type: application/wasm\r\n\
          Content-Length: 100\r\n\r\n\0asm",
    ];
    for request in stalled {
        let mut client = connect(&app).await;
        client.write_all(request).await.unwrap();
        let answer = until_closed(&mut client, Duration::from_secs(3))
            .await
            .expect("the server answers and closes");
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(
            answer.contains("urn:sandrun:problem:body-timeout"),
            "{answer}"
        );
    }
    assert_eq!(app.get("/healthz").await.status(), 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_limit_a_new_connection_is_closed_at_once() {
    let app = spawn_app_with(|args| args.max_connections = Some(2)).await;
    let first = connect(&app).await;
    let _second = connect(&app).await;
    let mut over = connect(&app).await;
    let closed = until_closed(&mut over, Duration::from_secs(2)).await;
    assert_eq!(closed.as_deref(), Some(""), "closed without an answer");
    drop(first);
    // The first's slot is free once the server sees it closed.
    let mut answered = false;
    for _ in 0..50 {
        let reply = reqwest::Client::new().get(app.url("/healthz")).send().await;
        if reply.is_ok_and(|r| r.status() == 200) {
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(answered, "a freed slot serves a new client");
    app.stop().await;
}
