-- Batches: the tasks submitted together in one POST /v1/batches share a
-- batch id, so they can be listed and counted as one. A batch is its
-- tasks: it has no row of its own, and goes when they are pruned.

ALTER TABLE tasks ADD COLUMN batch_id TEXT;
CREATE INDEX tasks_batch ON tasks (batch_id, status) WHERE batch_id IS NOT NULL;
