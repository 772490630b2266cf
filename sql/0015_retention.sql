-- Retention (`ctflow gc`, store/gc.cpp): indexes for finding old finished runs and for the
-- foreign-key checks that deleting a run makes. Without them each deleted run cost a sequential
-- scan of every table that points at runs or task_runs without an index of its own.
-- Old finished runs, oldest first (gc's candidate scan).
CREATE INDEX runs_finished ON runs(finished_at, id)
  WHERE state IN ('succeeded','failed','cancelled');
-- "Is this run re-run by another?" (gc keeps a run another points at; the rerun_of key check).
CREATE INDEX runs_rerun_of ON runs(rerun_of) WHERE rerun_of IS NOT NULL;
-- The registry's references to runs and tasks: gc keeps what a model version or deployment names.
CREATE INDEX model_versions_run ON model_versions(run_id) WHERE run_id IS NOT NULL;
CREATE INDEX model_versions_task_run ON model_versions(task_run_id) WHERE task_run_id IS NOT NULL;
CREATE INDEX deployments_run ON deployments(run_id) WHERE run_id IS NOT NULL;
CREATE INDEX deployments_task_run ON deployments(task_run_id) WHERE task_run_id IS NOT NULL;
-- ON DELETE SET NULL of monitor_checks.run_id, and monitors.last_run_id (kept by gc).
CREATE INDEX monitor_checks_run ON monitor_checks(run_id) WHERE run_id IS NOT NULL;
CREATE INDEX monitors_last_run ON monitors(last_run_id) WHERE last_run_id IS NOT NULL;
-- Events that belong to no run (schedule fires, model events), oldest first.
CREATE INDEX events_no_run ON events(id) WHERE run_id IS NULL;
