-- Artifacts: the files a run left under /output, kept with its task and
-- deleted with it. Their bytes are stored in chunks of 1 MiB, so serving a
-- range reads only the chunks it covers.

CREATE TABLE artifacts (
    task_id    TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    path       TEXT NOT NULL,              -- under /output, '/' between folders
    size       BIGINT NOT NULL,
    sha256     TEXT NOT NULL,              -- lower-case hex
    media_type TEXT NOT NULL,
    PRIMARY KEY (task_id, path)
);

CREATE TABLE artifact_chunks (
    task_id TEXT NOT NULL,
    path    TEXT NOT NULL,
    chunk   BIGINT NOT NULL,             -- 0, 1, ... in order
    bytes   BYTEA NOT NULL,
    PRIMARY KEY (task_id, path, chunk),
    FOREIGN KEY (task_id, path) REFERENCES artifacts (task_id, path) ON DELETE CASCADE
);
