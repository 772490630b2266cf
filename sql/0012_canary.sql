-- Canary deployments (issue 21): an alias may carry a second version that gets a share of the
-- traffic (KServe's canaryTrafficPercent). A deployments row keeps its `version` (the primary)
-- and gains the canary's version and percentage, both NULL or both set, 0 < percent < 100. Every
-- change of an alias (a move, a canary, a promotion, a rollback) is a new row, so the history
-- (GET /api/v1/models/{name}/deployments) shows canaries too. The canary version exists, like
-- the primary (0011).
ALTER TABLE deployments
  ADD COLUMN canary_version integer,
  ADD COLUMN canary_percent double precision,
  ADD CONSTRAINT deployments_canary_pair CHECK ((canary_version IS NULL) = (canary_percent IS NULL)),
  ADD CONSTRAINT deployments_canary_percent CHECK (canary_percent > 0 AND canary_percent < 100),
  ADD CONSTRAINT deployments_canary_fkey FOREIGN KEY (model_id, canary_version)
    REFERENCES model_versions (model_id, version);
