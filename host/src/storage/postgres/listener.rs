//! Hints from other nodes over LISTEN/NOTIFY.
//!
//! One dedicated connection listens; when it breaks it is opened again
//! with backoff, and a `Missed` hint tells the scheduler to look at the
//! database, since notifications sent meanwhile are gone. Hints are never
//! relied on: every loop that acts on them also polls.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use crate::storage::Hint;

const CANCEL: &str = "cancel:";

/// The NOTIFY payload carrying `hint`.
pub(super) fn payload(hint: &Hint) -> String {
    match hint {
        Hint::Queued => "queued".into(),
        Hint::Cancel(id) => format!("{CANCEL}{id}"),
        Hint::Missed => "missed".into(),
    }
}

fn parse(payload: &str) -> Option<Hint> {
    match payload {
        "queued" => Some(Hint::Queued),
        "missed" => Some(Hint::Missed),
        _ => payload
            .strip_prefix(CANCEL)
            .map(|id| Hint::Cancel(id.to_owned())),
    }
}

/// Listen on `channel` until the receiver is dropped.
pub(super) fn spawn(pool: PgPool, channel: String) -> UnboundedReceiver<Hint> {
    let (hints, received) = unbounded_channel();
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        loop {
            let error = match listen(&pool, &channel, &hints, &mut backoff).await {
                Ok(()) => return,
                Err(e) => e,
            };
            tracing::warn!(error = %error, retry_in = ?backoff, "listening for other nodes failed");
            if hints.send(Hint::Missed).is_err() {
                return;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    });
    received
}

/// Forward notifications until the receiver is dropped (`Ok`) or the
/// connection fails.
async fn listen(
    pool: &PgPool,
    channel: &str,
    hints: &UnboundedSender<Hint>,
    backoff: &mut Duration,
) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(channel).await?;
    *backoff = Duration::from_millis(100);
    // Whatever was sent while nobody listened is lost.
    if hints.send(Hint::Missed).is_err() {
        return Ok(());
    }
    loop {
        let hint = match listener.try_recv().await? {
            Some(notification) => parse(notification.payload()),
            // The connection dropped; the next call reconnects and listens again.
            None => Some(Hint::Missed),
        };
        if let Some(hint) = hint
            && hints.send(hint).is_err()
        {
            return Ok(());
        }
    }
}
