//! Serving HTTP/1 connections, each one bounded, so that no client can hold
//! the server for the others: at most so many connections are open at once
//! (one more is accepted and closed at once, before it costs a task or a
//! buffer), a client has a while to send a request's headers (which also
//! closes a keep-alive connection idle that long, and drops a slowloris
//! client), and a request body that stalls longer than its timeout ends
//! the request with 408.
//!
//! hyper's HTTP/1 builder is used directly, not `axum::serve` (which has no
//! header timeout or connection cap) nor hyper-util's `auto` builder (its
//! sniffing for HTTP/2 reads the first bytes with no timeout at all). At
//! shutdown the listener closes, idle connections close, and requests in
//! flight finish, as with `axum::serve`'s graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower_http::timeout::RequestBodyTimeoutLayer;

/// What every connection is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections open at once; one more is closed as soon as accepted.
    pub max_connections: usize,
    /// Longest a client may take to send a request's headers, counted from
    /// when the connection opens or its previous response was sent.
    pub header_read_timeout: Duration,
    /// Longest a request body may pause between two reads.
    pub body_read_timeout: Duration,
}

/// How long to wait before accepting again when accepting fails (out of
/// file descriptors, typically), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serve `router` on `listener` until `shutdown`, then wait for the
/// requests in flight.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: CancellationToken,
) {
    let router = router.layer(RequestBodyTimeoutLayer::new(limits.body_read_timeout));
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "cannot accept a connection");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            tracing::warn!(
                %peer,
                max = limits.max_connections,
                "at the connection limit: closed a new connection"
            );
            continue;
        };
        let service = TowerToHyperService::new(router.clone());
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%peer, %error, "connection ended");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
