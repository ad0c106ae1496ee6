-- A session's stored state moves out of the session's row, into a row of
-- its own, as in SQLite (where each statement on a session's row read and
-- wrote its state whole). Each state is named by a token, which a new
-- state replaces, so that a run can tell whether the worker holding its
-- session live holds this very state without reading the state.
CREATE TABLE session_states (
    session_id TEXT PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    token      TEXT NOT NULL,
    state      BYTEA NOT NULL
);
INSERT INTO session_states (session_id, token, state)
    SELECT id, md5(random()::text || id), state FROM sessions WHERE state IS NOT NULL;
ALTER TABLE sessions DROP COLUMN state;
