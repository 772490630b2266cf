#pragma once
// The prediction log (sql/0013_predictions.sql): predictions a predictor answered, their input
// summaries and their delayed labels, and the windows the monitor reads.
//
// Every function takes a Tx and never commits it. Ordinary outcomes (an unknown model version,
// an unknown request id) are values; database errors throw. Label writes NOTIFY
// kPredictionChannel (at commit) so that monitors look again.
#include <boost/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "scheduler/common/time_util.hpp"
#include "scheduler/monitor/record.hpp"
#include "scheduler/store/db.hpp"

namespace ctflow::store {

// The channel monitors LISTEN on: labels arrived (payload: the model name).
inline constexpr const char* kPredictionChannel = "ctflow_predictions";

struct StoredPredictions {
  int64_t stored = 0;      // rows inserted
  int64_t duplicates = 0;  // records whose request_id was stored already (or repeated here)
  // When a record names a model version that does not exist: its index and "model m has no
  // version 9" / "no model named m"; then nothing was stored.
  std::optional<size_t> unknown_index;
  std::string unknown_reason;
};
// Inserts the records, skipping request ids already stored (ON CONFLICT DO NOTHING): a batch
// sent twice stores each prediction once. One statement for the whole batch.
StoredPredictions store_predictions(Tx& tx, const std::vector<monitor::PredictionRecord>& records);

// Sets the label of one prediction; false when no prediction has that request id.
bool set_label(Tx& tx, const std::string& request_id, int label);
struct LabeledPredictions {
  int64_t labeled = 0;
  std::vector<std::string> unknown;  // request ids with no prediction, in request order
};
LabeledPredictions set_labels(Tx& tx, const std::vector<monitor::LabelRecord>& labels);

// The model's id, and the version an alias of it points at now.
std::optional<int64_t> model_id(Tx& tx, const std::string& model);
std::optional<int64_t> alias_version(Tx& tx, int64_t model_id, const std::string& alias);
// The params of the run that registered (model, version), when that run is of pipeline
// `pipeline_id`; nullopt otherwise (registered by another pipeline or by hand).
std::optional<boost::json::object> version_run_params(Tx& tx, int64_t model_id, int64_t version,
                                                      int64_t pipeline_id);
// Predictions of (model, version), at most `limit`: the newest first when `newest`, else the
// oldest first; only labelled ones when `labeled`. Index-backed (predictions_by_version,
// predictions_labeled).
std::vector<monitor::Point> prediction_window(Tx& tx, int64_t model_id, int64_t version,
                                              int64_t limit, bool newest, bool labeled);
// How many predictions (version) has, capped at `cap` (so the count stays cheap).
int64_t count_predictions(Tx& tx, int64_t model_id, int64_t version, int64_t cap);

// GET /api/v1/models/{name}/monitor's per-version series, nullopt for an unknown model:
// {"model", "aliases": {ALIAS: version}, "bucket": "1h", "versions": [{"version",
// "predictions", "labeled", "accuracy", "series": [{"at", "predictions", "labeled", "correct",
// "accuracy", "mean", "ink"}] (time buckets of `bucket`, oldest first, at most `max_points`
// newest)}] newest version first}. "checks": the monitor's evaluations (store/monitors.hpp).
std::optional<boost::json::object> monitor_series(Tx& tx, const std::string& model, Millis bucket,
                                                  int max_points);

}  // namespace ctflow::store
