/// A storage operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("idempotency key `{0}` was already used with a different request")]
    IdempotencyConflict(String),
    #[error("{} is in use by another sandrun server (one server per SQLite file; use Postgres for several)", .0.display())]
    Locked(std::path::PathBuf),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("session {0} does not exist or takes no more runs")]
    SessionClosed(String),
    #[error("corrupt record in the database: {0}")]
    Corrupt(String),
}

impl From<serde_json::Error> for StorageError {
    fn from(e: serde_json::Error) -> Self {
        StorageError::Corrupt(e.to_string())
    }
}
