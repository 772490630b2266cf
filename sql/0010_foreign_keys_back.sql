-- The foreign keys that 0008 and 0009 dropped to save milliseconds, back: referential integrity
-- is worth more than the time they cost (measured with make bench-sched and written down in
-- docs/benchmarks.md, "Foreign keys back"). Deleting a run's tasks deletes their edges and
-- attempts again (ON DELETE CASCADE, as 0001 declared).
ALTER TABLE task_edges ADD CONSTRAINT task_edges_parent_id_fkey
  FOREIGN KEY (parent_id) REFERENCES task_runs(id) ON DELETE CASCADE;
ALTER TABLE task_edges ADD CONSTRAINT task_edges_child_id_fkey
  FOREIGN KEY (child_id) REFERENCES task_runs(id) ON DELETE CASCADE;
ALTER TABLE task_attempts ADD CONSTRAINT task_attempts_task_run_id_fkey
  FOREIGN KEY (task_run_id) REFERENCES task_runs(id) ON DELETE CASCADE;
