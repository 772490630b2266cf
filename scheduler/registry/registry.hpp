#pragma once
// The model registry: models, their numbered versions (each with its run, artifacts, metrics and
// lineage), aliases that point at versions (a "deployment"; production is the alias tasks and
// the predictor read), and the lineage of a version.
//
// Who writes what:
//   - A task registers versions and deploys them through its outputs file ("registry": [{"op":
//     "register" | "deploy", ...}]); the engine applies those in the transaction that finishes
//     the task (store::apply_registry_ops).
//   - An operator moves or removes an alias through the API (these functions).
// Both deploys end in the same store::deploy: the same rows, the same 'model' event and the same
// NOTIFY ctflow_models + ctflow_events (store/registry.hpp). Removing an alias supersedes its
// deployment ("op": "undeploy"); the history stays.
//
// Every function takes a Tx and never commits it; any thread, one Tx per thread. Errors name the
// model, version or alias: invalid (an alias outside [A-Za-z0-9_.-]{1,64}, a version below 1),
// not_found (no such model, version, or alias). Database errors throw.
#include <boost/json.hpp>

#include <optional>
#include <string>

#include "scheduler/domain/error.hpp"
#include "scheduler/store/db.hpp"

namespace ctflow::registry {

struct Deployed {
  std::string model, alias;
  int64_t version = 0;
  std::optional<int64_t> previous;  // the version the alias pointed at before, if any
};
// Points `alias` of `model` at `version` (by the API).
domain::Outcome<Deployed> deploy(store::Tx& tx, const std::string& model, const std::string& alias,
                                 int64_t version);

// Canaries (store/registry.hpp set_canary, promote_canary, rollback_alias): the alias's state
// after the change. Errors: not_found (model, version, alias), invalid (percent outside
// (0, 100)), conflict (promote without a canary, rollback with no previous version).
struct AliasState {
  std::string model, alias;
  int64_t version = 0;
  int64_t canary_version = 0;  // 0: none
  double canary_percent = 0;
  int64_t previous = 0;  // the version before the change
};
domain::Outcome<AliasState> set_canary(store::Tx& tx, const std::string& model,
                                       const std::string& alias, int64_t version, double percent);
domain::Outcome<AliasState> promote(store::Tx& tx, const std::string& model,
                                    const std::string& alias);
domain::Outcome<AliasState> rollback(store::Tx& tx, const std::string& model,
                                     const std::string& alias);

struct Removed {
  std::string model, alias;
  int64_t version = 0;  // the version the alias pointed at
};
// Removes `alias` of `model`. not_found when the model does not exist or has no such alias.
domain::Outcome<Removed> remove_alias(store::Tx& tx, const std::string& model,
                                      const std::string& alias);

// Reads (JSON shapes in store/registry.hpp); not_found names the model or the version.
domain::Outcome<boost::json::array> list_models(store::Tx& tx);
domain::Outcome<boost::json::object> get_model(store::Tx& tx, const std::string& model);
domain::Outcome<boost::json::object> get_version(store::Tx& tx, const std::string& model,
                                                 int64_t version);
domain::Outcome<boost::json::object> lineage(store::Tx& tx, const std::string& model,
                                             int64_t version);
domain::Outcome<boost::json::array> deployments(store::Tx& tx, const std::string& model);

}  // namespace ctflow::registry
