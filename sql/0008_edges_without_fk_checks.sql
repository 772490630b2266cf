-- task_edges without its two foreign keys. An edge is written only by the statement that inserts
-- its run's tasks (store::insert_run), both ends taken from that statement's own RETURNING, so
-- the keys checked what the statement guarantees, at two row lookups and two row locks per edge:
-- 18 ms of a 1000-task run's submission, before its first task could start (make bench-sched).
-- Nothing deletes runs or tasks; whatever comes to (retention) deletes a run's edges itself,
-- since ON DELETE CASCADE went with the keys.
ALTER TABLE task_edges DROP CONSTRAINT task_edges_parent_id_fkey;
ALTER TABLE task_edges DROP CONSTRAINT task_edges_child_id_fkey;
