-- A session's stored state moves out of the session's row, into a row of
-- its own. The session's row is held, counted and touched by every run,
-- and SQLite reads and writes a row whole: with a state of a megabyte in
-- it (before most of its columns), each of those statements cost about
-- what storing the state does. Each state is named by a token, which a
-- new state replaces, so that a run can tell whether the worker holding
-- its session live holds this very state without reading the state.
CREATE TABLE session_states (
    session_id TEXT PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    token      TEXT NOT NULL,
    state      BLOB NOT NULL
);
INSERT INTO session_states (session_id, token, state)
    SELECT id, lower(hex(randomblob(16))), state FROM sessions WHERE state IS NOT NULL;
ALTER TABLE sessions DROP COLUMN state;
