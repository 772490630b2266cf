// The registry's writes: registering versions, deploying and removing aliases, and applying a
// finished task's registry operations. See registry.hpp for the one deploy path.
#include "scheduler/common/crash_point.hpp"
#include "scheduler/common/json_util.hpp"
#include "scheduler/store/internal.hpp"
#include "scheduler/store/registry.hpp"

namespace ctflow::store {

namespace {

std::string str_field(const boost::json::object& o, const char* k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// The id of model `name`, its row locked until the transaction ends; nullopt if unknown.
std::optional<int64_t> lock_model(pqxx::transaction_base& w, const std::string& name) {
  auto m = w.exec_params("SELECT id FROM models WHERE name = $1 FOR UPDATE", name);
  if (m.empty()) return std::nullopt;
  return m[0][0].as<int64_t>();
}

// NULL or the id as text (pqxx 6 has no std::optional parameters).
std::optional<std::string> id_text(std::optional<int64_t> id) {
  if (!id) return std::nullopt;
  return std::to_string(*id);
}

bool version_exists(pqxx::transaction_base& w, int64_t model_id, int64_t version) {
  return !w.exec_params("SELECT 1 FROM model_versions WHERE model_id = $1 AND version = $2",
                        model_id, version)
              .empty();
}

// Records the 'model' event of a deploy or undeploy and notifies ctflow_models (engines refresh
// their deployments) and ctflow_events (SSE). Both callers of deploy() get exactly this.
void model_event(pqxx::transaction_base& w, const std::string& model, int64_t version,
                 const char* op, const std::string& alias, const DeploySource& src) {
  auto run = id_text(src.run_id), task = id_text(src.task_run_id);
  w.exec_params(
      "INSERT INTO events(kind, run_id, task_run_id, payload) SELECT 'model', $1::bigint, "
      "$2::bigint, jsonb_build_object('model', $3::text, 'version', $4::int, 'op', $5::text, "
      "'alias', $6::text, 'by', $7::text) FROM pg_notify('ctflow_events', '') e, "
      "pg_notify('ctflow_models', '') m",
      opt(run), opt(task), model, version, op, alias, src.by_task() ? "task" : "api");
}

// deploy() on a model row already locked by the caller.
DeployOutcome deploy_locked(pqxx::transaction_base& w, int64_t model_id, const std::string& model,
                            const std::string& alias, int64_t version, const DeploySource& src) {
  DeployOutcome out;
  if (!valid_alias(alias)) {
    out.kind = DeployOutcome::Kind::BadAlias;
    return out;
  }
  if (!version_exists(w, model_id, version)) {
    out.kind = DeployOutcome::Kind::NoVersion;
    return out;
  }
  auto prev = w.exec_params(
      "UPDATE deployments SET superseded_at = now() WHERE model_id = $1 AND alias = $2 AND "
      "superseded_at IS NULL RETURNING version",
      model_id, alias);
  if (!prev.empty()) out.previous = prev[0][0].as<int64_t>();
  auto run = id_text(src.run_id), task = id_text(src.task_run_id);
  w.exec_params(
      "INSERT INTO deployments(model_id, alias, version, run_id, task_run_id) VALUES ($1, $2, $3, "
      "$4::bigint, $5::bigint)",
      model_id, alias, version, opt(run), opt(task));
  model_event(w, model, version, "deploy", alias, src);
  crash::point("deploy:before-commit");  // alias moved, deployment row written: not committed
  crash::at_commit("deploy:after-commit");
  out.kind = DeployOutcome::Kind::Deployed;
  return out;
}

// The artifacts a register operation names: "NAME" (this task's) or "TASK/NAME" (an upstream
// task's in the same run), as {name: {digest, kind, size, path}}; or an error message.
std::variant<boost::json::object, std::string> named_artifacts(pqxx::transaction_base& w,
                                                               const AttemptResult& res,
                                                               const boost::json::object& op) {
  boost::json::object arts;
  auto* names = op.if_contains("artifacts");
  if (!names || !names->is_array()) return arts;
  for (const auto& n : names->get_array()) {
    if (!n.is_string()) return std::string("registry: artifacts must be names");
    std::string name(n.get_string());
    auto slash = name.find('/');
    if (slash == std::string::npos) {
      const ArtifactOut* found = nullptr;
      for (const auto& a : res.artifacts)
        if (a.name == name) found = &a;
      if (!found) return "registry: unknown artifact \"" + name + "\"";
      arts[name] = {{"digest", found->digest},
                    {"kind", found->kind},
                    {"size", found->size},
                    {"path", found->path}};
      continue;
    }
    auto r = w.exec_params(R"SQL(
SELECT a.digest, u.kind, a.size, a.path FROM task_runs t
JOIN artifact_uses u ON u.task_run_id = t.id AND u.direction = 'output'
JOIN artifacts a ON a.id = u.artifact_id
WHERE t.run_id = $1 AND t.name = $2 AND u.name = $3)SQL",
                           res.run_id, name.substr(0, slash), name.substr(slash + 1));
    if (r.empty()) return "registry: unknown upstream artifact \"" + name + "\"";
    arts[name.substr(slash + 1)] = {{"digest", r[0][0].c_str()},
                                    {"kind", r[0][1].c_str()},
                                    {"size", r[0][2].as<int64_t>()},
                                    {"path", r[0][3].c_str()}};
  }
  return arts;
}

// A register operation: a new version (the next number) of model `mid`; `registered` receives
// it. Returns an error message or "".
std::string register_version(pqxx::transaction_base& w, const AttemptResult& res,
                             const boost::json::object& op, int64_t mid, const std::string& model,
                             int& registered) {
  auto arts = named_artifacts(w, res, op);
  if (auto* e = std::get_if<std::string>(&arts)) return *e;
  boost::json::object metrics, lineage;
  if (auto* m = op.if_contains("metrics"); m && m->is_object()) metrics = m->get_object();
  if (auto* l = op.if_contains("lineage"); l && l->is_object()) lineage = l->get_object();
  // The parent: the lineage's, else the version in production now.
  std::optional<std::string> parent;
  if (auto* p = lineage.if_contains("parent_version"); p && p->is_int64())
    parent = std::to_string(p->get_int64());
  if (!parent) {
    auto cur = w.exec_params(
        "SELECT version FROM deployments WHERE model_id = $1 AND alias = 'production' AND "
        "superseded_at IS NULL",
        mid);
    if (!cur.empty()) parent = cur[0][0].c_str();
  }
  auto row = w.exec_params1(R"SQL(
INSERT INTO model_versions(model_id, version, run_id, task_run_id, pipeline_version_id,
                           parent_version, artifacts, metrics, lineage)
SELECT $1, coalesce((SELECT max(version) FROM model_versions WHERE model_id = $1), 0) + 1,
       $2, $3, r.pipeline_version_id, $4::int, $5::jsonb, $6::jsonb, $7::jsonb
FROM runs r WHERE r.id = $2
RETURNING version)SQL",
                            mid, res.run_id, res.task_run_id, opt(parent),
                            serialize(std::get<boost::json::object>(arts)), serialize(metrics),
                            serialize(lineage));
  registered = row[0].as<int>();
  w.exec_params(
      "INSERT INTO events(kind, run_id, task_run_id, payload) VALUES ('model', $1, $2, "
      "jsonb_build_object('model', $3::text, 'version', $4::int, 'op', 'register'))",
      res.run_id, res.task_run_id, model, registered);
  return "";
}

// Applies one registry operation; returns an error message or "".
std::string apply_op(pqxx::transaction_base& w, const AttemptResult& res,
                     const boost::json::object& op, int& registered) {
  std::string kind = str_field(op, "op");
  std::string model = str_field(op, "model");
  if (model.empty()) return "registry: \"model\" is required";
  if (kind != "register" && kind != "deploy")
    return "registry: unknown op \"" + kind + "\" (expected register or deploy)";
  w.exec_params("INSERT INTO models(name) VALUES ($1) ON CONFLICT (name) DO NOTHING", model);
  int64_t mid = *lock_model(w, model);
  if (kind == "register") return register_version(w, res, op, mid, model, registered);
  int64_t version = 0;
  auto* v = op.if_contains("version");
  if (!v || (v->is_string() && v->get_string() == "registered")) {
    if (!registered) return "registry: deploy of \"registered\" but nothing was registered";
    version = registered;
  } else if (v->is_int64()) {
    version = v->get_int64();
  } else {
    return "registry: deploy version must be a number or \"registered\"";
  }
  std::string alias = str_field(op, "alias");
  if (alias.empty()) alias = "production";
  auto out = deploy_locked(w, mid, model, alias, version, {res.run_id, res.task_run_id});
  if (out.kind == DeployOutcome::Kind::NoVersion)
    return "registry: model " + model + " has no version " + std::to_string(version);
  if (out.kind == DeployOutcome::Kind::BadAlias)
    return "registry: alias \"" + alias + "\": expected 1-64 characters of letters, digits, _ - .";
  return "";
}

}  // namespace

bool valid_alias(std::string_view a) {
  if (a.empty() || a.size() > 64) return false;
  for (char c : a)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.')
      return false;
  return true;
}

DeployOutcome deploy(Tx& tx, const std::string& model, const std::string& alias, int64_t version,
                     const DeploySource& source) {
  auto& w = W(tx);
  auto mid = lock_model(w, model);
  if (!mid) return {};
  return deploy_locked(w, *mid, model, alias, version, source);
}

UndeployOutcome remove_alias(Tx& tx, const std::string& model, const std::string& alias) {
  auto& w = W(tx);
  UndeployOutcome out;
  auto mid = lock_model(w, model);
  if (!mid) return out;
  auto cur = w.exec_params(
      "UPDATE deployments SET superseded_at = now() WHERE model_id = $1 AND alias = $2 AND "
      "superseded_at IS NULL RETURNING version",
      *mid, alias);
  if (cur.empty()) {
    out.kind = UndeployOutcome::Kind::NoAlias;
    return out;
  }
  out.version = cur[0][0].as<int64_t>();
  model_event(w, model, out.version, "undeploy", alias, {});
  out.kind = UndeployOutcome::Kind::Removed;
  return out;
}

namespace {

struct CurrentAlias {
  int64_t version = 0, canary_version = 0;
  double canary_percent = 0;
};

std::optional<CurrentAlias> current_alias(pqxx::transaction_base& w, int64_t model_id,
                                          const std::string& alias) {
  auto r = w.exec_params(
      "SELECT version, coalesce(canary_version, 0), coalesce(canary_percent, 0) FROM deployments "
      "WHERE model_id = $1 AND alias = $2 AND superseded_at IS NULL",
      model_id, alias);
  if (r.empty()) return std::nullopt;
  return CurrentAlias{r[0][0].as<int64_t>(), r[0][1].as<int64_t>(), r[0][2].as<double>()};
}

// Supersedes the alias's current row and inserts (version, canary); records the event.
void change_alias(pqxx::transaction_base& w, int64_t model_id, const std::string& model,
                  const std::string& alias, int64_t version, int64_t canary_version,
                  double canary_percent, const char* op) {
  w.exec_params(
      "UPDATE deployments SET superseded_at = now() WHERE model_id = $1 AND alias = $2 AND "
      "superseded_at IS NULL",
      model_id, alias);
  std::optional<std::string> cv, cp;
  if (canary_version) {
    cv = std::to_string(canary_version);
    cp = std::to_string(canary_percent);
  }
  w.exec_params(
      "INSERT INTO deployments(model_id, alias, version, canary_version, canary_percent) VALUES "
      "($1, $2, $3, $4::int, $5::float8)",
      model_id, alias, version, opt(cv), opt(cp));
  model_event(w, model, version, op, alias, {});
}

}  // namespace

AliasChange set_canary(Tx& tx, const std::string& model, const std::string& alias,
                       int64_t canary_version, double percent) {
  auto& w = W(tx);
  AliasChange out;
  auto mid = lock_model(w, model);
  if (!mid) return out;
  auto cur = current_alias(w, *mid, alias);
  if (!cur) {
    out.kind = AliasChange::Kind::NoAlias;
    return out;
  }
  if (!version_exists(w, *mid, canary_version)) {
    out.kind = AliasChange::Kind::NoVersion;
    return out;
  }
  change_alias(w, *mid, model, alias, cur->version, canary_version, percent, "canary");
  out = {AliasChange::Kind::Done, cur->version, canary_version, percent, cur->version};
  return out;
}

AliasChange promote_canary(Tx& tx, const std::string& model, const std::string& alias) {
  auto& w = W(tx);
  AliasChange out;
  auto mid = lock_model(w, model);
  if (!mid) return out;
  auto cur = current_alias(w, *mid, alias);
  if (!cur || !cur->canary_version) {
    out.kind = cur ? AliasChange::Kind::NoCanary : AliasChange::Kind::NoAlias;
    return out;
  }
  change_alias(w, *mid, model, alias, cur->canary_version, 0, 0, "promote");
  out = {AliasChange::Kind::Done, cur->canary_version, 0, 0, cur->version};
  return out;
}

AliasChange rollback_alias(Tx& tx, const std::string& model, const std::string& alias) {
  auto& w = W(tx);
  AliasChange out;
  auto mid = lock_model(w, model);
  if (!mid) return out;
  auto cur = current_alias(w, *mid, alias);
  if (!cur) {
    out.kind = AliasChange::Kind::NoAlias;
    return out;
  }
  int64_t target = cur->version;
  if (!cur->canary_version) {
    auto prev = w.exec_params(
        "SELECT version FROM deployments WHERE model_id = $1 AND alias = $2 AND superseded_at IS "
        "NOT NULL AND version <> $3 ORDER BY id DESC LIMIT 1",
        *mid, alias, cur->version);
    if (prev.empty()) {
      out.kind = AliasChange::Kind::NoPrevious;
      return out;
    }
    target = prev[0][0].as<int64_t>();
  }
  change_alias(w, *mid, model, alias, target, 0, 0, "rollback");
  out = {AliasChange::Kind::Done, target, 0, 0, cur->version};
  return out;
}

std::string apply_registry_ops(Tx& tx, const AttemptResult& res) {
  if (res.registry.empty()) return "";
  // All or none: a savepoint of our own. (pqxx 6's subtransaction issues its SAVEPOINT only when
  // a statement goes through exec(), not exec_params(), so with it a failed operation list kept
  // the statements before the failure.)
  auto& w = W(tx);
  w.exec("SAVEPOINT registry_ops");
  int registered = 0;
  std::string err;
  for (const auto& op : res.registry) {
    err = op.is_object() ? apply_op(w, res, op.get_object(), registered)
                         : "registry: each operation must be an object";
    if (!err.empty()) break;
  }
  w.exec(err.empty() ? "RELEASE SAVEPOINT registry_ops" : "ROLLBACK TO SAVEPOINT registry_ops");
  return err;
}

}  // namespace ctflow::store
