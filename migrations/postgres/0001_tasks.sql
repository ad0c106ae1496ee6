-- Tasks, their labels and events, uploaded modules, and the nodes sharing
-- the queue. Times are milliseconds since the Unix epoch, as on SQLite, so
-- both backends decode rows the same way.

CREATE TABLE tasks (
    id               TEXT PRIMARY KEY,     -- UUIDv7: sorts by creation time
    status           TEXT NOT NULL,        -- queued | running | succeeded | failed | cancelled
    runtime          TEXT NOT NULL,
    request          TEXT NOT NULL,        -- the TaskRequest, JSON
    request_hash     TEXT NOT NULL,
    idempotency_key  TEXT UNIQUE,
    priority         BIGINT NOT NULL,
    labels           TEXT NOT NULL,        -- JSON object
    attempt          BIGINT NOT NULL DEFAULT 0,
    max_attempts     BIGINT NOT NULL,
    run_after        BIGINT NOT NULL,      -- not claimed before (retry backoff)
    lease_owner      TEXT,                 -- node id of the boot holding it
    lease_expires_at BIGINT,
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    -- The number of the task's last event. Bumped under the task's row
    -- lock, so a task's events commit in number order and a reader that
    -- sees event n has seen every event before it.
    event_seq        BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    started_at       BIGINT,
    finished_at      BIGINT,
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

CREATE TABLE task_events (
    task_id    TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    seq        BIGINT NOT NULL,            -- 1, 2, ... per task
    data       TEXT NOT NULL,              -- TaskEvent, JSON
    created_at BIGINT NOT NULL,
    PRIMARY KEY (task_id, seq)
);

CREATE TABLE modules (
    hash       TEXT PRIMARY KEY,
    size       BIGINT NOT NULL,
    bytes      BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

-- One row per boot of a node, written by its heartbeat.
CREATE TABLE nodes (
    id             TEXT PRIMARY KEY,
    address        TEXT NOT NULL,
    slots          BIGINT NOT NULL,
    running        BIGINT NOT NULL,
    started_at     BIGINT NOT NULL,
    last_heartbeat BIGINT NOT NULL
);
