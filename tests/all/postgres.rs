//! The real PostgreSQL server for tests: one fresh schema per test, dropped
//! afterwards. Without a server the Postgres tests say they were skipped
//! and why; under CI (`CI` set) a missing server fails them instead.

use std::time::Duration;

use sqlx::{Connection, Executor, PgConnection};

/// The server tests use; `SANDRUN_TEST_POSTGRES_URL` overrides it.
pub fn base_url() -> String {
    std::env::var("SANDRUN_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A schema of its own on the test server.
#[derive(Debug)]
pub struct Schema {
    /// Connects with the schema as its search path.
    pub url: String,
    name: String,
}

impl Schema {
    /// A fresh schema, or `None` (after saying why) when no server answers
    /// outside CI.
    pub async fn fresh(test: &str) -> Option<Schema> {
        let base = base_url();
        let mut admin = match connect(&base).await {
            Ok(connection) => connection,
            Err(e) if std::env::var_os("CI").is_some() => {
                panic!("{test}: PostgreSQL is required in CI but {base} did not answer: {e}")
            }
            Err(e) => {
                eprintln!(
                    "SKIPPED: {test} needs PostgreSQL at {base} (set SANDRUN_TEST_POSTGRES_URL), \
                     because connecting failed: {e}"
                );
                return None;
            }
        };
        let name = format!("t_{}", uuid::Uuid::now_v7().simple());
        admin
            .execute(format!("CREATE SCHEMA {name}").as_str())
            .await
            .expect("creating a test schema");
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-c%20search_path%3D{name}");
        Some(Schema { url, name })
    }

    /// A connection with the schema as its search path.
    pub async fn connect(&self) -> PgConnection {
        connect(&self.url)
            .await
            .expect("connecting to the test schema")
    }
}

async fn connect(url: &str) -> Result<PgConnection, sqlx::Error> {
    tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(url))
        .await
        .map_err(|_| sqlx::Error::PoolTimedOut)?
}

impl Drop for Schema {
    fn drop(&mut self) {
        let (base, name) = (base_url(), self.name.clone());
        // Drop may run inside a runtime: clean up from a thread of its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async {
                if let Ok(mut admin) = connect(&base).await {
                    let _ = admin
                        .execute(format!("DROP SCHEMA IF EXISTS {name} CASCADE").as_str())
                        .await;
                }
            });
        })
        .join();
    }
}
