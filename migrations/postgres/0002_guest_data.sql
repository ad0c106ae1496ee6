-- What task modules keep and report through host calls: key-value data by
-- namespace, the last progress of a running task, and module names.

ALTER TABLE tasks ADD COLUMN progress DOUBLE PRECISION;

CREATE TABLE kv (
    namespace  TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,              -- JSON
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (namespace, key)
);

CREATE TABLE module_names (
    name       TEXT NOT NULL,
    version    TEXT NOT NULL,              -- semver
    hash       TEXT NOT NULL REFERENCES modules (hash),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE INDEX module_names_by_hash ON module_names (hash);
