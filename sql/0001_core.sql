-- Core engine schema: pipelines, versions, runs, task runs, attempts, artifacts, metrics, events.
-- Every state change of the engine is a row change here; nothing lives only in memory.

-- ISO-8601 UTC text of an instant ("2026-03-08T07:00:00Z"; microseconds only when non-zero).
CREATE FUNCTION iso(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN t IS NULL THEN NULL
              WHEN date_part('microseconds', t)::bigint % 1000000 = 0
                THEN to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
              ELSE to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') END
$$;

CREATE TABLE pipelines (
  id          bigserial PRIMARY KEY,
  name        text NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- An immutable, content-addressed version of a pipeline spec (sha256 of its canonical JSON).
CREATE TABLE pipeline_versions (
  id           bigserial PRIMARY KEY,
  pipeline_id  bigint NOT NULL REFERENCES pipelines(id),
  digest       text NOT NULL UNIQUE,
  spec         jsonb NOT NULL,          -- canonical JSON of the validated spec
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pipeline_versions_pipeline ON pipeline_versions(pipeline_id, id);

-- Named pools: at most `slots` tasks of the pool are dispatched or running at once, checked in
-- the claim transaction.
CREATE TABLE pools (
  name   text PRIMARY KEY,
  slots  integer NOT NULL CHECK (slots >= 1)
);

-- A run: queued -> running -> succeeded | failed | cancelled.
CREATE TABLE runs (
  id                   bigserial PRIMARY KEY,
  pipeline_id          bigint NOT NULL REFERENCES pipelines(id),
  pipeline_version_id  bigint NOT NULL REFERENCES pipeline_versions(id),
  state                text NOT NULL DEFAULT 'queued'
                       CHECK (state IN ('queued','running','succeeded','failed','cancelled')),
  params               jsonb NOT NULL DEFAULT '{}',
  logical_date         timestamptz NOT NULL DEFAULT now(),
  data_interval_start  timestamptz,
  data_interval_end    timestamptz,
  trigger              text NOT NULL DEFAULT 'api',   -- api | schedule | backfill | rerun | monitor
  concurrency          integer NOT NULL DEFAULT 0,    -- the pipeline's limit when submitted
  deadline             timestamptz,                   -- per-run timeout; NULL: none
  cancel_requested     boolean NOT NULL DEFAULT false,
  tasks_total          integer NOT NULL DEFAULT 0,
  tasks_done           integer NOT NULL DEFAULT 0,    -- tasks in a final state
  tasks_failed         integer NOT NULL DEFAULT 0,    -- of which failed or upstream_failed
  error                text,
  created_at           timestamptz NOT NULL DEFAULT now(),
  started_at           timestamptz,
  finished_at          timestamptz
);
CREATE INDEX runs_state ON runs(state, id) WHERE state IN ('queued','running');
CREATE INDEX runs_pipeline ON runs(pipeline_id, id DESC);
CREATE INDEX runs_created ON runs(id DESC);

-- A task of a run. States: pending -> ready -> dispatched -> running -> succeeded | failed |
-- upstream_failed | skipped | cancelled | cached. pending_deps counts unfinished parents; the
-- transaction that finishes a parent decrements it and marks the task ready at zero.
CREATE TABLE task_runs (
  id                bigserial PRIMARY KEY,
  run_id            bigint NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  name              text NOT NULL,
  spec_index        integer NOT NULL,               -- index in the pipeline version's tasks
  state             text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending','ready','dispatched','running','succeeded','failed',
                                     'upstream_failed','skipped','cancelled','cached')),
  attempt           integer NOT NULL DEFAULT 0,      -- attempts started so far
  max_attempts      integer NOT NULL DEFAULT 1,      -- 1 + retry.limit
  pending_deps      integer NOT NULL DEFAULT 0,
  priority          integer NOT NULL DEFAULT 0,
  not_before        timestamptz NOT NULL DEFAULT '-infinity',  -- retry backoff
  pool              text,
  lease_owner       text,                            -- server id owning a dispatched/running task
  lease_expires_at  timestamptz,
  executor_ref      text,                            -- e.g. local:<host>:<attempt dir>
  deadline          timestamptz,                     -- per-task timeout of the current attempt
  cache_key         text,
  cache_reason      text,                            -- why the cache hit or missed
  cache_components  jsonb,                           -- digests that make up cache_key
  outputs           jsonb NOT NULL DEFAULT '{}',
  error             text,
  exit_code         integer,
  started_at        timestamptz,
  finished_at       timestamptz,
  UNIQUE (run_id, name)
);
CREATE INDEX task_runs_ready ON task_runs(priority, id) WHERE state = 'ready';
CREATE INDEX task_runs_pool ON task_runs(pool, state) WHERE pool IS NOT NULL;
CREATE INDEX task_runs_active ON task_runs(lease_expires_at) WHERE state IN ('dispatched','running');
CREATE INDEX task_runs_cache ON task_runs(cache_key) WHERE cache_key IS NOT NULL AND state = 'succeeded';

-- DAG edges of a run, for readiness counting and upstream_failed propagation.
CREATE TABLE task_edges (
  parent_id  bigint NOT NULL REFERENCES task_runs(id) ON DELETE CASCADE,
  child_id   bigint NOT NULL REFERENCES task_runs(id) ON DELETE CASCADE,
  PRIMARY KEY (parent_id, child_id)
);
CREATE INDEX task_edges_child ON task_edges(child_id);

-- One row per dispatch of a task.
CREATE TABLE task_attempts (
  id           bigserial PRIMARY KEY,
  task_run_id  bigint NOT NULL REFERENCES task_runs(id) ON DELETE CASCADE,
  attempt      integer NOT NULL,
  state        text NOT NULL DEFAULT 'dispatched',   -- dispatched | running | succeeded | failed | lost | cancelled
  owner        text,
  executor_ref text,
  argv         jsonb,
  exit_code    integer,
  error        text,
  log_path     text,
  metrics_offset bigint NOT NULL DEFAULT 0,          -- bytes of the metrics file ingested
  started_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz
);
CREATE INDEX task_attempts_task ON task_attempts(task_run_id, attempt);

CREATE TABLE artifacts (
  id          bigserial PRIMARY KEY,
  digest      text NOT NULL UNIQUE,     -- sha256 of the content
  size        bigint NOT NULL,
  path        text NOT NULL,            -- location in the content-addressed store
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Which task produced (output) or read (input) an artifact, under which name and kind.
CREATE TABLE artifact_uses (
  artifact_id  bigint NOT NULL REFERENCES artifacts(id),
  task_run_id  bigint NOT NULL REFERENCES task_runs(id) ON DELETE CASCADE,
  direction    text NOT NULL CHECK (direction IN ('input','output')),
  name         text NOT NULL,
  kind         text NOT NULL DEFAULT '',
  PRIMARY KEY (task_run_id, direction, name)
);
CREATE INDEX artifact_uses_artifact ON artifact_uses(artifact_id);

CREATE TABLE metrics (
  id           bigserial PRIMARY KEY,
  run_id       bigint NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  task_run_id  bigint NOT NULL REFERENCES task_runs(id) ON DELETE CASCADE,
  name         text NOT NULL,
  value        double precision NOT NULL,
  step         bigint,
  ts           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX metrics_task ON metrics(task_run_id, name, step);
CREATE INDEX metrics_run ON metrics(run_id, name);

-- Append-only change feed (run/task transitions, metrics, schedule fires); NOTIFY carries the id.
CREATE TABLE events (
  id           bigserial PRIMARY KEY,
  ts           timestamptz NOT NULL DEFAULT now(),
  kind         text NOT NULL,            -- run | task | metric | schedule | model
  run_id       bigint,
  task_run_id  bigint,
  payload      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX events_run ON events(run_id, id);

CREATE TABLE api_tokens (
  id          bigserial PRIMARY KEY,
  name        text NOT NULL DEFAULT '',
  token_hash  text NOT NULL UNIQUE,       -- sha256 of the token; the token itself is never stored
  role        text NOT NULL CHECK (role IN ('viewer','operator','admin')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz,
  revoked_at  timestamptz
);

-- Model registry (MLflow-style): models, versions with lineage, deployments.
CREATE TABLE models (
  id          bigserial PRIMARY KEY,
  name        text NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE model_versions (
  id                   bigserial PRIMARY KEY,
  model_id             bigint NOT NULL REFERENCES models(id),
  version              integer NOT NULL,
  run_id               bigint REFERENCES runs(id),
  task_run_id          bigint REFERENCES task_runs(id),
  pipeline_version_id  bigint REFERENCES pipeline_versions(id),
  parent_version       integer,
  artifacts            jsonb NOT NULL DEFAULT '{}',   -- name -> {digest, kind, size, path}
  metrics              jsonb NOT NULL DEFAULT '{}',
  lineage              jsonb NOT NULL DEFAULT '{}',   -- data partitions and their digests, ...
  created_at           timestamptz NOT NULL DEFAULT now(),
  UNIQUE (model_id, version)
);

CREATE TABLE deployments (
  id            bigserial PRIMARY KEY,
  model_id      bigint NOT NULL REFERENCES models(id),
  alias         text NOT NULL DEFAULT 'production',
  version       integer NOT NULL,
  run_id        bigint REFERENCES runs(id),
  task_run_id   bigint REFERENCES task_runs(id),
  created_at    timestamptz NOT NULL DEFAULT now(),
  superseded_at timestamptz
);
CREATE UNIQUE INDEX deployments_current ON deployments(model_id, alias) WHERE superseded_at IS NULL;

-- Server replicas sharing this database (liveness for lease adoption and /metrics).
CREATE TABLE servers (
  id          text PRIMARY KEY,
  host        text NOT NULL,
  pid         integer NOT NULL,
  started_at  timestamptz NOT NULL DEFAULT now(),
  seen_at     timestamptz NOT NULL DEFAULT now()
);
