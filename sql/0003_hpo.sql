-- Hyperparameter studies (issue 6). A task with an `hpo:` block is a study: when it is claimed it
-- starts no process; it becomes the study's driver (a task run in state 'running' without a lease
-- or attempt) and each trial is a CHILD task run (parent_task_run_id = the driver) that runs the
-- hpo.trial.run command like any task. Trials have no task_edges.
--
-- Run counting: trials are counted in runs.tasks_total (added when they are created), so run
-- progress includes them; a failed trial does not fail the run (the study step gives back its
-- tasks_failed count in the same transaction). The driver finishes only after all its trials are
-- final, so a run never completes while trials are outstanding.
--
-- Every study decision is made from these rows inside one engine transaction (the study row
-- locked): the optimiser state is recomputed from `trials` every time, never kept in memory.

ALTER TABLE task_runs ADD COLUMN parent_task_run_id bigint REFERENCES task_runs(id) ON DELETE CASCADE;
CREATE INDEX task_runs_parent ON task_runs(parent_task_run_id) WHERE parent_task_run_id IS NOT NULL;

CREATE TABLE studies (
  id             bigserial PRIMARY KEY,
  task_run_id    bigint NOT NULL UNIQUE REFERENCES task_runs(id) ON DELETE CASCADE,  -- the driver
  run_id         bigint NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  name           text NOT NULL,                    -- the hpo task's name
  algorithm      text NOT NULL,                    -- grid | random | bayes
  metric         text NOT NULL,                    -- objective metric, read from trial metrics
  goal           text NOT NULL CHECK (goal IN ('minimize','maximize')),
  max_trials     integer NOT NULL,
  parallelism    integer NOT NULL,
  seed           bigint NOT NULL DEFAULT 0,
  space          jsonb NOT NULL DEFAULT '{}',      -- the spec's space (canonical JSON)
  early_stopping jsonb,                            -- {rule, min_trials, start_step}; NULL: none
  state          text NOT NULL DEFAULT 'running'
                 CHECK (state IN ('running','succeeded','failed','cancelled')),
  exhausted      boolean NOT NULL DEFAULT false,   -- a grid has no point left to suggest
  best_trial_id  bigint,                           -- set when the study finishes with a best
  best_value     double precision,
  error          text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  finished_at    timestamptz
);
CREATE INDEX studies_running ON studies(id) WHERE state = 'running';
CREATE INDEX studies_run ON studies(run_id);

-- One row per trial, created in the transaction that asked the optimiser for it.
-- pending: its task run is queued; running: dispatched or running; complete: finished with a
-- value; failed: finished without one (error says why); pruned: stopped by median early stopping
-- (value = its best intermediate value, which the optimiser reads; see engine/study.hpp).
CREATE TABLE trials (
  id           bigserial PRIMARY KEY,
  study_id     bigint NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
  number       integer NOT NULL,                   -- 1, 2, ... in creation order
  params       jsonb NOT NULL,                     -- NAME -> value, as suggested
  state        text NOT NULL DEFAULT 'pending'
               CHECK (state IN ('pending','running','complete','failed','pruned')),
  value        double precision,
  task_run_id  bigint NOT NULL UNIQUE REFERENCES task_runs(id) ON DELETE CASCADE,
  error        text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz,
  UNIQUE (study_id, number)
);
ALTER TABLE studies ADD CONSTRAINT studies_best_trial FOREIGN KEY (best_trial_id) REFERENCES trials(id);
