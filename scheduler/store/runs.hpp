#pragma once
// Pipelines, versions, runs and tasks as the API and CLI see them. Reads return JSON built by
// PostgreSQL (jsonb_build_object), in the shapes documented in the OpenAPI document.
#include <boost/json.hpp>

#include <optional>
#include <string>

#include "scheduler/store/db.hpp"
#include "scheduler/store/records.hpp"

namespace ctflow::store {

struct StoredVersion {
  int64_t pipeline_id = 0, version_id = 0;
  bool created = false;  // false: this exact version existed already
};

// Stores a validated spec (canonical JSON) under its digest; idempotent.
StoredVersion upsert_pipeline_version(Tx& tx, const std::string& name, const std::string& digest,
                                      const std::string& canonical_spec);

// The canonical spec JSON of a version, or nullopt.
std::optional<std::string> version_spec(Tx& tx, int64_t version_id);

// Creates the run, its task runs and edges in one statement set. With concurrency 0 the run
// starts at once (root tasks ready); otherwise it is queued for the engine to activate.
int64_t insert_run(Tx& tx, const NewRun& run);

struct RunFilter {
  std::optional<std::string> pipeline, state;
  std::optional<std::string> since, until;  // ISO-8601 bounds on created_at
  std::optional<int64_t> before_id;         // cursor: runs with id < before_id
  int limit = 50;
};
// {"runs": [...], "next_cursor": "123" | null}
boost::json::object list_runs(Tx& tx, const RunFilter& f);
// A run, with its tasks unless `with_tasks` is false (the run's own columns only).
std::optional<boost::json::object> get_run(Tx& tx, int64_t run_id, bool with_tasks = true);
std::optional<boost::json::object> get_task(Tx& tx, int64_t run_id, const std::string& task);
boost::json::array list_pipelines(Tx& tx);
std::optional<boost::json::object> get_pipeline(Tx& tx, const std::string& name);

// Requests cancellation; false when the run does not exist. Already-final runs are unchanged.
std::optional<std::string> request_cancel(Tx& tx, int64_t run_id);  // returns the run's state

// The log file of the latest (or given) attempt of a task; nullopt when unknown.
struct LogRef {
  std::string path;
  std::string state;  // task state, to know when following can stop
};
std::optional<LogRef> task_log(Tx& tx, int64_t run_id, const std::string& task,
                               std::optional<int> attempt);

}  // namespace ctflow::store
