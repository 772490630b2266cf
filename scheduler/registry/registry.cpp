#include "scheduler/registry/registry.hpp"

#include "scheduler/store/registry.hpp"

namespace ctflow::registry {

namespace {

std::string model_msg(const std::string& model) {
  return "model \"" + model + "\"";
}

domain::Error no_model(const std::string& model) {
  return domain::not_found(model_msg(model) + " does not exist");
}

domain::Error no_version(const std::string& model, int64_t version) {
  return domain::not_found(model_msg(model) + " has no version " + std::to_string(version));
}

domain::Error bad_alias(const std::string& alias) {
  return domain::invalid("alias \"" + alias +
                         "\": expected 1-64 characters of letters, digits, _ - .");
}

}  // namespace

domain::Outcome<Deployed> deploy(store::Tx& tx, const std::string& model, const std::string& alias,
                                 int64_t version) {
  if (!store::valid_alias(alias)) return bad_alias(alias);
  if (version < 1) return domain::invalid("version: expected a version number (1 or more)");
  auto out = store::deploy(tx, model, alias, version);
  switch (out.kind) {
    case store::DeployOutcome::Kind::NoModel:
      return no_model(model);
    case store::DeployOutcome::Kind::NoVersion:
      return no_version(model, version);
    case store::DeployOutcome::Kind::BadAlias:
      return bad_alias(alias);
    case store::DeployOutcome::Kind::Deployed:
      break;
  }
  return Deployed{model, alias, version, out.previous};
}

namespace {

domain::Outcome<AliasState> alias_state(const store::AliasChange& c, const std::string& model,
                                        const std::string& alias, int64_t version) {
  using K = store::AliasChange::Kind;
  switch (c.kind) {
    case K::NoModel:
      return no_model(model);
    case K::NoVersion:
      return no_version(model, version);
    case K::NoAlias:
      return domain::not_found(model_msg(model) + " has no alias \"" + alias + "\"");
    case K::NoCanary:
      return domain::conflict(model_msg(model) + " alias \"" + alias + "\" has no canary");
    case K::NoPrevious:
      return domain::conflict(model_msg(model) + " alias \"" + alias +
                              "\" has no previous version to roll back to");
    case K::Done:
      break;
  }
  return AliasState{model, alias, c.version, c.canary_version, c.canary_percent, c.previous};
}

}  // namespace

domain::Outcome<AliasState> set_canary(store::Tx& tx, const std::string& model,
                                       const std::string& alias, int64_t version, double percent) {
  if (!store::valid_alias(alias)) return bad_alias(alias);
  if (version < 1) return domain::invalid("canary.version: expected a version number (1 or more)");
  if (!(percent > 0 && percent < 100))
    return domain::invalid("canary.percent: expected a number between 0 and 100 (exclusive)");
  return alias_state(store::set_canary(tx, model, alias, version, percent), model, alias, version);
}

domain::Outcome<AliasState> promote(store::Tx& tx, const std::string& model,
                                    const std::string& alias) {
  if (!store::valid_alias(alias)) return bad_alias(alias);
  return alias_state(store::promote_canary(tx, model, alias), model, alias, 0);
}

domain::Outcome<AliasState> rollback(store::Tx& tx, const std::string& model,
                                     const std::string& alias) {
  if (!store::valid_alias(alias)) return bad_alias(alias);
  return alias_state(store::rollback_alias(tx, model, alias), model, alias, 0);
}

domain::Outcome<Removed> remove_alias(store::Tx& tx, const std::string& model,
                                      const std::string& alias) {
  if (!store::valid_alias(alias)) return bad_alias(alias);
  auto out = store::remove_alias(tx, model, alias);
  if (out.kind == store::UndeployOutcome::Kind::NoModel) return no_model(model);
  if (out.kind == store::UndeployOutcome::Kind::NoAlias)
    return domain::not_found(model_msg(model) + " has no alias \"" + alias + "\"");
  return Removed{model, alias, out.version};
}

domain::Outcome<boost::json::array> list_models(store::Tx& tx) {
  return store::list_models(tx);
}

domain::Outcome<boost::json::object> get_model(store::Tx& tx, const std::string& model) {
  auto m = store::get_model(tx, model);
  if (!m) return no_model(model);
  return std::move(*m);
}

domain::Outcome<boost::json::object> get_version(store::Tx& tx, const std::string& model,
                                                 int64_t version) {
  auto v = store::get_model_version(tx, model, version);
  if (!v) return no_version(model, version);
  return std::move(*v);
}

domain::Outcome<boost::json::object> lineage(store::Tx& tx, const std::string& model,
                                             int64_t version) {
  auto l = store::model_lineage(tx, model, version);
  if (!l) return no_version(model, version);
  return std::move(*l);
}

domain::Outcome<boost::json::array> deployments(store::Tx& tx, const std::string& model) {
  auto d = store::model_deployments(tx, model);
  if (!d) return no_model(model);
  return std::move(*d);
}

}  // namespace ctflow::registry
