#pragma once
// The model registry's SQL, all of it: models, versions, aliases (deployments), lineage. The
// domain rules over it are in scheduler/registry/ (the API's entry point); the engine reaches it
// through record_results (engine_ops.hpp), which applies a finished task's registry operations
// here, inside the transaction that finishes the task.
//
// One deploy path: deploy() is how an alias moves, whether a task's outputs asked for it or the
// API did. It supersedes the alias's current deployment, inserts the new one, and records one
// 'model' event {"model", "version", "op": "deploy", "alias", "by": "task" | "api"} with NOTIFY
// ctflow_models (engines refresh the deployments their inputs files name) and ctflow_events (SSE).
// remove_alias() is the same with "op": "undeploy". deployments (model_id, version) references
// model_versions (sql/0011_deployments_fk.sql): a deployment of a missing version cannot exist.
//
// Read JSON is built by PostgreSQL. Every function takes a Tx and never commits it. Ordinary
// outcomes (unknown model, version or alias) are values; database errors throw.
#include <boost/json.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "scheduler/store/db.hpp"
#include "scheduler/store/records.hpp"

namespace ctflow::store {

// [{"name", "created_at", "versions", "latest_version", "aliases": [{"alias", "version",
// "canary": {"version", "percent"} | null}] by alias}] by name.
boost::json::array list_models(Tx& tx);
// {"name", "created_at", "aliases", "versions": [{"version", "run_id", "created_at", "metrics",
// "parent_version", "aliases"}] newest first}; nullopt if unknown.
std::optional<boost::json::object> get_model(Tx& tx, const std::string& name);
// {"model", "version", "run_id", "task", "pipeline", "pipeline_version", "parent_version",
// "artifacts", "metrics", "lineage", "aliases", "created_at"}; nullopt if unknown.
std::optional<boost::json::object> get_model_version(Tx& tx, const std::string& name,
                                                     int64_t version);
// Deployment history, newest first: [{"alias", "version", "canary", "run_id", "task",
// "created_at", "superseded_at", "current"}]; nullopt if the model is unknown.
std::optional<boost::json::array> model_deployments(Tx& tx, const std::string& name);

// Lineage of a version: {"model", "version", "run": {id, state, pipeline, pipeline_version,
// logical_date, params, trigger, trigger_detail (a monitor's numbers that crossed, or null)},
// "task": {id, name, attempt}, "inputs": [{name, digest, kind, "produced_by": [{run_id, task,
// name}]}], "artifacts": [{name, digest, kind, "produced_by"}],
// "data_partitions": [...from the version's lineage], "parent": {version, run_id, created_at} |
// null}; nullopt if unknown.
std::optional<boost::json::object> model_lineage(Tx& tx, const std::string& name, int64_t version);

// An alias: 1-64 characters of [A-Za-z0-9_.-], so it is safe in URLs, labels and file names.
bool valid_alias(std::string_view alias);

// Who asked for a deployment: a task (its run and task run) or the API (no run).
struct DeploySource {
  std::optional<int64_t> run_id, task_run_id;
  bool by_task() const { return task_run_id.has_value(); }
};

// Points `alias` of `model` at `version`: the one deploy path (see the top of this file). Locks
// the model row, so concurrent moves of one alias serialise. Nothing is written unless Deployed.
struct DeployOutcome {
  enum class Kind { Deployed, NoModel, NoVersion, BadAlias } kind = Kind::NoModel;
  std::optional<int64_t> previous;  // the alias's version before, if any
};
DeployOutcome deploy(Tx& tx, const std::string& model, const std::string& alias, int64_t version,
                     const DeploySource& source = {});

// Removes `alias` of `model`: its current deployment is superseded (history keeps it), a 'model'
// event with "op": "undeploy" is recorded, ctflow_models and ctflow_events are notified.
struct UndeployOutcome {
  enum class Kind { Removed, NoModel, NoAlias } kind = Kind::NoModel;
  int64_t version = 0;  // the version the alias pointed at
};
UndeployOutcome remove_alias(Tx& tx, const std::string& model, const std::string& alias);

// Canaries (sql/0012_canary.sql). Each change supersedes the alias's current deployment and
// inserts the new state, records a 'model' event ("op": "canary" | "promote" | "rollback", the
// primary version after) and notifies like deploy(). Locks the model row. A plain deploy()
// clears a canary (its new row has none).
struct AliasChange {
  enum class Kind { Done, NoModel, NoVersion, NoAlias, NoCanary, NoPrevious } kind = Kind::NoModel;
  int64_t version = 0;         // the alias's version after the change
  int64_t canary_version = 0;  // 0: no canary after the change
  double canary_percent = 0;
  int64_t previous = 0;  // the version before the change
};
// Adds (or replaces) the canary of `alias`: `canary_version` gets `percent` (0 < p < 100) of the
// traffic; the alias keeps its version. NoAlias when the alias points nowhere.
AliasChange set_canary(Tx& tx, const std::string& model, const std::string& alias,
                       int64_t canary_version, double percent);
// The canary becomes the alias's version. NoCanary when it has none.
AliasChange promote_canary(Tx& tx, const std::string& model, const std::string& alias);
// With a canary: drops it. Without: back to the previous version in the alias's history (the
// newest superseded deployment of another version); NoPrevious when there is none.
AliasChange rollback_alias(Tx& tx, const std::string& model, const std::string& alias);

// Applies a finished attempt's registry operations ({"op": "register" | "deploy", ...} from its
// outputs file) all or none (a savepoint); returns "" or the first problem ("registry: model m
// has no version 9"), after which nothing of them is kept and the task fails. Deploys go through
// deploy(). Called by record_results.
std::string apply_registry_ops(Tx& tx, const AttemptResult& result);

}  // namespace ctflow::store
