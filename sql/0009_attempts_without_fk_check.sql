-- task_attempts without its foreign key to task_runs. An attempt is inserted only by the engine's
-- statements that dispatch its task (store::finish_tasks, claim_ready, start_attempts), with the
-- task's id taken from that statement's own UPDATE of the task row, so the key checked what the
-- statement guarantees, with a lookup and a row lock of the task per attempt (make bench-sched).
-- Nothing deletes tasks; whatever comes to (retention) deletes their attempts itself.
ALTER TABLE task_attempts DROP CONSTRAINT task_attempts_task_run_id_fkey;
