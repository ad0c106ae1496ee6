-- Dependencies: a task may wait (status 'waiting') for other tasks. Each
-- row says one task waits for another; it goes with the waiting task. The
-- task it waits for may go first (pruned): a waiting task finds that out
-- as a dependency that no longer exists.

CREATE TABLE task_dependencies (
    task_id    TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    depends_on TEXT NOT NULL,
    PRIMARY KEY (task_id, depends_on)
);
CREATE INDEX task_dependencies_on ON task_dependencies (depends_on);
CREATE INDEX tasks_waiting ON tasks (created_at) WHERE status = 'waiting';
