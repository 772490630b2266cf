-- Cron schedules (issue 4). One schedule per pipeline whose latest stored version has a
-- `schedule:` block; storing a newer version rewrites it (paused and firing history are kept),
-- storing a newer version without the block retires it.
--
-- Exactly-once: every fire is a row of schedule_fires, unique on (schedule_id, logical_date),
-- inserted in the same transaction as its run. Scheduled fires, "trigger now" and backfills all
-- go through it, so restarts, replicas and repeated backfills never create a second run for one
-- logical date. The scheduler also locks the schedule row (FOR UPDATE SKIP LOCKED) while firing.

CREATE TABLE schedules (
  id                   bigserial PRIMARY KEY,
  pipeline_id          bigint NOT NULL UNIQUE REFERENCES pipelines(id),
  pipeline_version_id  bigint NOT NULL REFERENCES pipeline_versions(id),  -- whose block this is
  cron                 text NOT NULL,
  timezone             text NOT NULL DEFAULT 'UTC',
  catchup              text NOT NULL DEFAULT 'none' CHECK (catchup IN ('all','latest','none')),
  concurrency          text NOT NULL DEFAULT 'allow'
                       CHECK (concurrency IN ('allow','forbid','replace')),
  max_active_runs      integer NOT NULL DEFAULT 0 CHECK (max_active_runs >= 0),  -- 0: unlimited
  start_at             timestamptz,                 -- spec `start` (inclusive)
  end_at               timestamptz,                 -- spec `end` (inclusive)
  paused               boolean NOT NULL DEFAULT false,
  -- Set by the first scheduler tick that sees the schedule, from the scheduler's clock: the lower
  -- bound of catch-up for a schedule without `start` that never fired.
  activated_at         timestamptz,
  retired_at           timestamptz,                 -- the latest version has no schedule block
  last_logical_date    timestamptz,                 -- newest scheduled fire handled (not backfills)
  next_fire_at         timestamptz,                 -- first fire after it; NULL: not computed/ended
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX schedules_due ON schedules(next_fire_at) WHERE NOT paused AND retired_at IS NULL;

CREATE TABLE schedule_fires (
  id            bigserial PRIMARY KEY,
  schedule_id   bigint NOT NULL REFERENCES schedules(id) ON DELETE CASCADE,
  logical_date  timestamptz NOT NULL,
  run_id        bigint REFERENCES runs(id) ON DELETE SET NULL,  -- NULL when skipped or failed
  kind          text NOT NULL DEFAULT 'schedule' CHECK (kind IN ('schedule','trigger','backfill')),
  outcome       text NOT NULL
                CHECK (outcome IN ('created','skipped_forbid','replaced','failed')),
  error         text,                                          -- why a fire failed (bad params)
  fired_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (schedule_id, logical_date)
);
CREATE INDEX schedule_fires_run ON schedule_fires(run_id) WHERE run_id IS NOT NULL;

-- The schedule a run was fired by (schedule, trigger, backfill) and the run a rerun repeats.
ALTER TABLE runs ADD COLUMN schedule_id bigint REFERENCES schedules(id);
ALTER TABLE runs ADD COLUMN rerun_of bigint REFERENCES runs(id);
CREATE INDEX runs_active_pipeline ON runs(pipeline_id) WHERE state IN ('queued','running');
