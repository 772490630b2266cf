#pragma once
// The model registry as the API sees it: models, versions, aliases (deployments) and the lineage
// of a version. Versions and deployments are written by the engine when a task's registry
// operations are applied (lifecycle_ops.cpp); set_alias() is the API's way to move an alias by
// hand. JSON is built by PostgreSQL.
//
// Every function takes a Tx and never commits it. Ordinary outcomes (unknown model or version)
// are values; database errors throw.
#include <boost/json.hpp>

#include <optional>
#include <string>

#include "scheduler/store/db.hpp"

namespace ctflow::store {

// [{"name", "created_at", "versions", "latest_version", "aliases": {ALIAS: version}}] by name.
boost::json::array list_models(Tx& tx);
// {"name", "created_at", "aliases", "versions": [{"version", "run_id", "created_at", "metrics",
// "parent_version", "aliases"}] newest first}; nullopt if unknown.
std::optional<boost::json::object> get_model(Tx& tx, const std::string& name);
// {"model", "version", "run_id", "task", "pipeline", "pipeline_version", "parent_version",
// "artifacts", "metrics", "lineage", "aliases", "created_at"}; nullopt if unknown.
std::optional<boost::json::object> get_model_version(Tx& tx, const std::string& name,
                                                     int64_t version);
// Deployment history, newest first: [{"alias", "version", "run_id", "task", "created_at",
// "superseded_at", "current"}]; nullopt if the model is unknown.
std::optional<boost::json::array> model_deployments(Tx& tx, const std::string& name);

// Lineage of a version: {"model", "version", "run": {id, state, pipeline, pipeline_version,
// logical_date, params}, "task": {id, name, attempt}, "inputs": [{name, digest, kind,
// "produced_by": [{run_id, task, name}]}], "artifacts": [{name, digest, kind, "produced_by"}],
// "data_partitions": [...from the version's lineage], "parent": {version, run_id, created_at} |
// null}; nullopt if unknown.
std::optional<boost::json::object> model_lineage(Tx& tx, const std::string& name, int64_t version);

// Points `alias` of `model` at `version` (a new current deployment; the previous one is
// superseded) and records a 'model' event. Locks the model row, so concurrent moves of one alias
// serialise.
struct AliasOutcome {
  enum class Kind { Set, NoModel, NoVersion } kind = Kind::NoModel;
  std::optional<int64_t> previous;  // the alias's version before, if any
};
AliasOutcome set_alias(Tx& tx, const std::string& model, const std::string& alias, int64_t version);

}  // namespace ctflow::store
