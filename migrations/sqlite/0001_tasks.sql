-- Tasks, their labels and events, and uploaded modules. Times are
-- milliseconds since the Unix epoch.

CREATE TABLE tasks (
    id               TEXT PRIMARY KEY,     -- UUIDv7: sorts by creation time
    status           TEXT NOT NULL,        -- queued | running | succeeded | failed | cancelled
    runtime          TEXT NOT NULL,
    request          TEXT NOT NULL,        -- the TaskRequest, JSON
    request_hash     TEXT NOT NULL,        -- sha256 of the canonical request, for idempotency
    idempotency_key  TEXT UNIQUE,
    priority         INTEGER NOT NULL,
    labels           TEXT NOT NULL,        -- JSON object
    attempt          INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL,
    run_after        INTEGER NOT NULL,     -- not claimed before (retry backoff)
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    started_at       INTEGER,
    finished_at      INTEGER,
    result           TEXT,                 -- TaskResult, JSON
    error            TEXT
);

CREATE INDEX tasks_queue ON tasks (priority DESC, created_at, id) WHERE status = 'queued';
CREATE INDEX tasks_leases ON tasks (lease_expires_at) WHERE status = 'running';
CREATE INDEX tasks_finished ON tasks (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX tasks_created ON tasks (created_at);

CREATE TABLE task_labels (
    task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    key     TEXT NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (task_id, key)
);
CREATE INDEX task_labels_lookup ON task_labels (key, value);

-- Status changes and output, in order, for late subscribers and for nodes
-- that did not run the task.
CREATE TABLE task_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id    TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    data       TEXT NOT NULL,              -- TaskEvent, JSON
    created_at INTEGER NOT NULL
);
CREATE INDEX task_events_by_task ON task_events (task_id, id);

CREATE TABLE modules (
    hash       TEXT PRIMARY KEY,           -- sha256 of bytes, hex
    size       INTEGER NOT NULL,
    bytes      BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
