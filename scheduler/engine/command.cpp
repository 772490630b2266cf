// What a task's process gets, shared by the claim (claim.cpp) and the fast path's direct
// dispatch (direct.cpp): its ancestors' outputs, its command and environment, its inputs file.
#include "scheduler/common/json_util.hpp"
#include "scheduler/common/sha256.hpp"
#include "scheduler/engine/core.hpp"
#include "scheduler/store/engine_ops.hpp"

namespace ctflow::engine {

constexpr size_t kMaxAncestorsInInputs = 64;

namespace {

// "NAME":{"outputs":...,"artifacts":...}
std::string inputs_entry(const store::UpstreamInfo& u) {
  return boost::json::serialize(boost::json::string(u.name)) +
         ":{\"outputs\":" + boost::json::serialize(u.outputs) +
         ",\"artifacts\":" + boost::json::serialize(u.artifacts) + "}";
}

}  // namespace

bool Core::gather_upstream(store::Tx* tx, int64_t run_id, const Graph& g, int index,
                           const std::map<int, store::UpstreamInfo>* extra, bool reads,
                           spec::TemplateContext& ctx, std::string& tasks_json,
                           std::vector<std::string>& input_digests) {
  auto anc = ancestors(g.parents, index, kMaxAncestorsInInputs);
  if (upstream_cache_.size() > 20'000) upstream_cache_.clear();
  // The cached entry when the ancestor is final here; `extra` (assumed or fresh) comes first.
  auto find = [&](int i) -> std::pair<const store::UpstreamInfo*, Upstream*> {
    if (extra)
      if (auto it = extra->find(i); it != extra->end()) return {&it->second, nullptr};
    auto it = upstream_cache_.find({run_id, i});
    if (it == upstream_cache_.end()) return {nullptr, nullptr};
    return {&it->second.info, &it->second};
  };
  std::vector<int> missing;
  for (int i : anc)
    if (!find(i).first) missing.push_back(i);
  if (!missing.empty()) {
    if (!tx) return false;
    for (auto& [idx, info] : store::load_upstream(*tx, run_id, missing))
      upstream_cache_[{run_id, idx}] = {std::move(info), ""};
  }
  // The inputs file's "tasks" as text: each final ancestor's entry is serialized once, not
  // once per descendant (a chain step lists its 64 nearest ancestors).
  tasks_json = "{";
  for (int i : anc) {
    auto [u, cached] = find(i);
    if (!u) continue;
    if (reads) ctx.outputs[u->name] = u->outputs;
    if (tasks_json.size() > 1) tasks_json += ',';
    if (cached) {
      if (cached->entry.empty()) cached->entry = inputs_entry(*u);
      tasks_json += cached->entry;
    } else {
      tasks_json += inputs_entry(*u);
    }
    for (const auto& kv : u->artifacts)
      input_digests.push_back(u->name + "/" + std::string(kv.key()) + "=" +
                              get_string(kv.value().as_object(), "digest"));
  }
  tasks_json += '}';
  return true;
}

std::optional<std::string> Core::build_command(const DispatchPlan& plan, int64_t run_id,
                                               const std::string& name, const RunCtx& run,
                                               std::string tasks_json, Command& out) {
  std::vector<std::string>& env = out.env;
  // A local process inherits the server's session and the tasks' PATH; a container has its
  // image's own.
  bool local = plan.executor == "local";
  auto keep = [&](const char* n) {
    if (const char* v = std::getenv(n)) env.push_back(std::string(n) + "=" + v);
  };
  if (local) {
    for (const char* n : {"HOME", "USER", "LANG", "LC_ALL", "TZ", "TMPDIR", "OMP_NUM_THREADS",
                          "OPENBLAS_NUM_THREADS"})
      keep(n);
    env.push_back("PATH=" + opt_.task_path);
  }
  env.push_back("CTFLOW_RUN_ID=" + std::to_string(run_id));
  env.push_back("CTFLOW_TASK=" + name);
  env.push_back("CTFLOW_ARTIFACTS=" + opt_.data_dir + "/artifacts");
  Sha256 command_hash;
  for (const auto& a : plan.argv) command_hash.update(a + '\0');
  for (const auto& [k, v] : plan.env) {
    env.push_back(k + "=" + v);
    command_hash.update(k + "=" + v + '\0');
  }
  for (const auto& [k, secret] : plan.secrets) {
    if (!local) {  // referenced, never read here: the cluster holds the value
      out.secret_refs.emplace_back(k, secret);
      command_hash.update(k + "=secret:" + secret + '\0');
      continue;
    }
    bool bad_name = secret.find('/') != std::string::npos || secret.rfind(".", 0) == 0;
    auto value = bad_name ? std::nullopt : read_file(opt_.data_dir + "/secrets/" + secret, 1 << 20);
    if (!value) return "env." + k + ": secret \"" + secret + "\" not found on the server";
    while (!value->empty() && value->back() == '\n') value->pop_back();
    env.push_back(k + "=" + *value);
    command_hash.update(k + "=sha256:" + sha256_hex(*value) + '\0');
  }
  out.argv = plan.argv;
  out.command_hash = command_hash.hex();
  out.inputs = {{"run",
                 {{"id", std::to_string(run_id)},
                  {"pipeline", run.pipeline},
                  {"pipeline_version", run.digest},
                  {"logical_date", run.logical_date}}},
                {"params", run.params}};
  out.tasks_json = std::move(tasks_json);
  return std::nullopt;
}

exec::Placement Core::placement(const Active& a, std::optional<Millis> timeout) const {
  exec::Placement where;
  where.run_id = a.run_id;
  where.attempt = a.attempt;
  where.timeout = timeout;
  where.task = a.name;
  if (const spec::Pipeline* p = known_pipeline(a.version_id)) {
    where.pipeline = p->name;
    if (a.spec_index >= 0 && static_cast<size_t>(a.spec_index) < p->tasks.size()) {
      const spec::Task& t = p->tasks[static_cast<size_t>(a.spec_index)];
      where.executor = t.executor;
      where.k8s = t.k8s;
    }
  }
  return where;
}

bool Core::runs_locally(int64_t version_id, int spec_index) const {
  const spec::Pipeline* p = known_pipeline(version_id);
  if (!p || spec_index < 0 || static_cast<size_t>(spec_index) >= p->tasks.size()) return true;
  return p->tasks[static_cast<size_t>(spec_index)].executor == "local";
}

Prepared Core::make_prepared(Active a, std::optional<Millis> timeout, Command cmd,
                             const boost::json::object& models) {
  std::string key = exec::attempt_key(a.task_run_id, a.attempt);
  std::string dir = executor_.attempt_dir(key);
  Prepared out;
  out.req.key = key;
  out.req.argv = std::move(cmd.argv);
  out.req.env = std::move(cmd.env);
  out.req.env.push_back("CTFLOW_ATTEMPT=" + std::to_string(a.attempt));
  out.req.env.push_back("CTFLOW_INPUTS=" + dir + "/inputs.json");
  out.req.env.push_back("CTFLOW_OUTPUTS=" + dir + "/outputs.json");
  out.req.env.push_back("CTFLOW_METRICS=" + dir + "/metrics.jsonl");
  cmd.inputs["models"] = models;
  out.models = models;
  std::string inputs = boost::json::serialize(cmd.inputs);  // {"run":..,"params":..,"models":..}
  inputs.insert(inputs.size() - 1, ",\"tasks\":" + cmd.tasks_json);
  out.req.files.emplace_back("inputs.json", std::move(inputs));
  out.req.placement = placement(a, timeout);
  out.req.placement.secrets = std::move(cmd.secret_refs);
  out.active = std::move(a);
  out.active.has_input_artifacts = !cmd.input_digests.empty();
  out.active.timeout = timeout;  // the deadline counts from the start (it may wait its turn)
  return out;
}

std::shared_ptr<const RunCtx> Core::run_context(const store::ClaimedTask& c) {
  auto& slot = run_ctx_[c.run_id];
  if (!slot) {
    if (run_ctx_.size() > 10'000) {  // runs long finished; a missing one is re-read on a claim
      run_ctx_.clear();
      return run_context(c);
    }
    slot = std::make_shared<const RunCtx>(RunCtx{c.pipeline_version_id, c.params, c.pipeline,
                                                 c.pipeline_digest, c.logical_date,
                                                 c.data_interval_start, c.data_interval_end});
  }
  return slot;
}

}  // namespace ctflow::engine
