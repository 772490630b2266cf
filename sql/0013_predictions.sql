-- The prediction log (issue 21): what a predictor (ctflow-serve) answered, one row per request
-- id, with a small summary of the input and, once it arrives, the ground-truth label. Written by
-- POST /api/v1/predictions (idempotent on request_id: a predictor replaying its spool after a
-- crash stores nothing twice) and the label routes; read by the monitor (scheduler/monitor/) and
-- GET /api/v1/models/{name}/monitor.
--
-- The monitor's windows are "the N most recent predictions (or labelled predictions) of one
-- version", and its reference is "the first N predictions of that version": the two indexes
-- below answer both from either end without a sort, so a window over 100k+ rows reads N index
-- entries.
CREATE TABLE predictions (
  id            bigserial PRIMARY KEY,
  request_id    text NOT NULL UNIQUE,              -- 1-128 of [A-Za-z0-9_.:-], chosen by the predictor
  model_id      bigint NOT NULL,
  version       integer NOT NULL,                  -- the version that answered
  predicted_at  timestamptz NOT NULL,              -- when the predictor answered (its clock)
  prediction    smallint NOT NULL,                 -- the predicted class
  latency_ms    double precision NOT NULL,
  mean          real NOT NULL,                     -- mean pixel intensity in [0,1]
  ink           real NOT NULL,                     -- share of pixels >= 0.5
  hist          real[] NOT NULL,                   -- 8 shares of pixels per intensity bin, sum 1
  label         smallint,                          -- ground truth, when it arrived
  labeled_at    timestamptz,                       -- when it arrived (server clock)
  received_at   timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (model_id, version) REFERENCES model_versions(model_id, version)
);
CREATE INDEX predictions_by_version ON predictions(model_id, version, predicted_at, id);
CREATE INDEX predictions_labeled ON predictions(model_id, version, predicted_at, id)
  WHERE label IS NOT NULL;
