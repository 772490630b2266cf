#pragma once
// Run creation: validate the spec, store its content-addressed version, resolve params, create
// the run with its tasks and edges. One transaction; nothing is stored on any error. Called by
// the API (POST /runs, /pipelines) and, through create_run, by schedule fires, backfills and
// reruns (schedule_ops.hpp). Any thread; each call uses the connection or transaction it is given.
#include <boost/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "scheduler/common/time_util.hpp"
#include "scheduler/domain/error.hpp"
#include "scheduler/spec/spec.hpp"
#include "scheduler/store/db.hpp"

namespace ctflow::domain {

struct SubmitRequest {
  std::optional<std::string> spec_text;  // YAML/JSON; or
  std::optional<std::string> pipeline;   // the latest stored version of this pipeline
  std::map<std::string, std::string> params_text;
  boost::json::object params_json;
  std::string trigger = "api";
  std::optional<TimePoint> logical_date;
};

struct SubmitResult {
  int64_t run_id = 0;
  std::string pipeline, digest;
  bool version_created = false;
};

// The stored version for a spec (no run). Errors as for submit.
Outcome<SubmitResult> store_version(store::Connection& c, const std::string& spec_text);
// Errors: invalid_spec (details: every problem, one line each); not_found (no stored pipeline of
// that name); invalid (neither spec nor pipeline given; reason "bad_params": params that do not
// resolve).
Outcome<SubmitResult> submit(store::Connection& c, const SubmitRequest& req);

// Runs for a pipeline spec already parsed and stored (cron fires, backfills, reruns reuse this).
// RunExtras: the data interval, and a concurrency limit other than the pipeline's (a schedule's
// max_active_runs); -1 keeps the pipeline's.
struct RunExtras {
  std::optional<TimePoint> data_interval_start, data_interval_end;
  int concurrency = -1;
};
int64_t create_run(store::Tx& tx, int64_t version_id, const spec::Pipeline& p,
                   const boost::json::object& params, const std::string& trigger,
                   std::optional<TimePoint> logical_date, const RunExtras& extras = {});

}  // namespace ctflow::domain
