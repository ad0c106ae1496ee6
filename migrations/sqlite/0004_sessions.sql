-- Sessions: Python whose state outlives a run. Their runs are tasks, tied
-- to the session and numbered in submission order; a run is claimed only
-- when no earlier run of its session is queued or running.

CREATE TABLE sessions (
    id              TEXT PRIMARY KEY,      -- UUIDv7: sorts by creation time
    settings        TEXT NOT NULL,         -- the SessionRequest, JSON, defaults applied
    labels          TEXT NOT NULL,         -- JSON object
    memory_bytes    INTEGER NOT NULL,
    max_state_bytes INTEGER NOT NULL,
    idle_timeout_ms INTEGER NOT NULL,
    ttl_ms          INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    ends_by         INTEGER NOT NULL,      -- created_at + ttl
    expires_at      INTEGER NOT NULL,      -- ends then unless a run comes first
    last_run_at     INTEGER,
    runs            INTEGER NOT NULL DEFAULT 0,  -- runs submitted; the last run's number
    -- Bumped by a restart, so a run that started before it cannot store
    -- the state it leaves.
    generation      INTEGER NOT NULL DEFAULT 0,
    state           BLOB,                  -- the stored state; NULL before the first run
    state_bytes     INTEGER NOT NULL DEFAULT 0,
    forked_from     TEXT,
    ended_at        INTEGER,
    end_reason      TEXT                   -- deleted | idle | expired
);
CREATE INDEX sessions_expiring ON sessions (expires_at) WHERE ended_at IS NULL;

CREATE TABLE session_labels (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    PRIMARY KEY (session_id, key)
);
CREATE INDEX session_labels_lookup ON session_labels (key, value);

ALTER TABLE tasks ADD COLUMN session_id TEXT;
ALTER TABLE tasks ADD COLUMN session_run INTEGER;
CREATE INDEX tasks_by_session ON tasks (session_id, session_run) WHERE session_id IS NOT NULL;
