-- Monitors (issue 21): a pipeline whose latest stored version has a `monitor:` block watches
-- the prediction log of a model alias and starts a run of itself (trigger 'monitor') when
-- accuracy or drift crosses its threshold. The block itself is read from the pipeline version's
-- spec; this row holds what a replica needs to decide safely: the version it belongs to, and
-- when it last started a run (the cooldown) and which. Replicas lock the row (FOR UPDATE SKIP
-- LOCKED) for the whole evaluation, so two never both start a run.
CREATE TABLE monitors (
  pipeline_id          bigint PRIMARY KEY REFERENCES pipelines(id),
  pipeline_version_id  bigint NOT NULL REFERENCES pipeline_versions(id),
  model                text NOT NULL,
  alias                text NOT NULL,
  retired_at           timestamptz,                 -- the latest version has no monitor block
  last_checked_at      timestamptz,                 -- monitor clock
  last_triggered_at    timestamptz,                 -- monitor clock; the cooldown starts here
  last_run_id          bigint REFERENCES runs(id),  -- the run it started last
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX monitors_live ON monitors(pipeline_id) WHERE retired_at IS NULL;

-- What each evaluation found, kept when it differs from the previous one or started a run
-- (the dashboard's accuracy and drift series; GET /api/v1/models/{name}/monitor).
-- outcome: ok (nothing crossed) | insufficient (too few labels and predictions to judge) |
-- triggered (a run was created: run_id) | cooldown | busy (a run it started is still active, or
-- the pipeline is at its concurrency limit) | no_deployment (the alias points nowhere).
CREATE TABLE monitor_checks (
  id             bigserial PRIMARY KEY,
  pipeline_id    bigint NOT NULL REFERENCES pipelines(id),
  model          text NOT NULL,
  alias          text NOT NULL,
  version        integer,
  checked_at     timestamptz NOT NULL,
  labels         integer NOT NULL DEFAULT 0,
  accuracy       double precision,
  drift_metric   text,
  drift_feature  text,
  drift          double precision,
  crossed        jsonb NOT NULL DEFAULT '[]',
  outcome        text NOT NULL CHECK (outcome IN ('ok','insufficient','triggered','cooldown',
                                                  'busy','no_deployment')),
  run_id         bigint REFERENCES runs(id) ON DELETE SET NULL
);
CREATE INDEX monitor_checks_model ON monitor_checks(model, id DESC);
CREATE INDEX monitor_checks_pipeline ON monitor_checks(pipeline_id, id DESC);

-- Why a run was started, beyond runs.trigger: for trigger 'monitor', the numbers that crossed
-- ({"monitor": {"model", "alias", "version", "window", "crossed": [...], "checked_at"}}).
ALTER TABLE runs ADD COLUMN trigger_detail jsonb;
