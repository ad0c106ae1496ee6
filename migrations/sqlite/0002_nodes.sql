-- The server's own boots, so that `GET /v1/nodes` answers the same on
-- SQLite as on Postgres.
CREATE TABLE nodes (
    id             TEXT PRIMARY KEY,
    address        TEXT NOT NULL,
    slots          INTEGER NOT NULL,
    running        INTEGER NOT NULL,
    started_at     INTEGER NOT NULL,
    last_heartbeat INTEGER NOT NULL
);
