// Claim -> dispatch: ready tasks are claimed (FOR UPDATE SKIP LOCKED, limits in the same
// statement), each is rendered into its process, or ends without one (cached, skipped, failed,
// a study's driver), and the attempts are created in the same transaction.
#include <algorithm>

#include "scheduler/common/crash_point.hpp"
#include "scheduler/common/sha256.hpp"
#include "scheduler/common/states.hpp"
#include "scheduler/engine/core.hpp"
#include "scheduler/engine/fast_path.hpp"
#include "scheduler/engine/study.hpp"
#include "scheduler/spec/canonical.hpp"
#include "scheduler/store/engine_ops.hpp"

namespace ctflow::engine {

namespace {

// The command part of a study driver's cache key: its trial command rendered with every
// dimension left as the text "{{trial.NAME}}", plus the whole hpo block (space, budget,
// algorithm, seed, stopping rule) in canonical form. Secrets count by name here (a study's
// trials read them, the driver does not). Returns the rendered argv[0] and the digest; nullopt
// when the driver should not be looked up (its `when` is false or rendering fails: prepare_hpo
// reports both).
std::optional<std::pair<std::string, std::string>> study_command(const spec::Pipeline& p, int index,
                                                                 spec::TemplateContext ctx) {
  const spec::Task& t = p.tasks[static_cast<size_t>(index)];
  spec::Task run = t;
  run.run = t.hpo->trial_run;
  run.hpo.reset();
  for (const auto& d : t.hpo->space.dims) ctx.trial[d.name] = "{{trial." + d.name + "}}";
  DispatchPlan plan = plan_dispatch(run, ctx);
  if (plan.kind != DispatchPlan::Kind::Run || plan.argv.empty()) return std::nullopt;
  Sha256 h;
  for (const auto& a : plan.argv) h.update(a + '\0');
  for (const auto& [k, v] : plan.env) h.update(k + "=" + v + '\0');
  for (const auto& [k, secret] : plan.secrets) h.update(k + "=secret:" + secret + '\0');
  auto tasks = spec::to_json(p).as_object().at("tasks").as_array();
  h.update(boost::json::serialize(tasks.at(static_cast<size_t>(index)).as_object().at("hpo")));
  return std::make_pair(plan.argv[0], h.hex());
}

}  // namespace

bool Core::prepare_claimed(store::Tx& tx, const store::ClaimedTask& c, const spec::Pipeline& p,
                           Prepared& out, store::DispatchOp& op, store::FinishOp& finish) {
  const spec::Task& t = p.tasks[static_cast<size_t>(c.spec_index)];
  finish.task_run_id = c.task_run_id;
  finish.attempt = c.attempt;
  auto run = run_context(c);
  exec::Placement where;  // for the code identity in cache keys (a binary or an image)
  where.executor = t.executor;
  where.k8s = t.k8s;
  // Template context and inputs from the ancestors (their outputs are final, so cacheable).
  spec::TemplateContext ctx;
  ctx.params = c.params;
  ctx.run = {std::to_string(c.run_id), c.logical_date, c.data_interval_start, c.data_interval_end};
  for (const auto& [idx, info] : c.parents) upstream_cache_[{c.run_id, idx}] = {info, ""};
  const Graph& g = graph(c.pipeline_version_id, p);
  std::string tasks_json;
  std::vector<std::string> input_digests;
  // Every output in the context: a study's trials are rendered from it too (prepare_hpo).
  gather_upstream(&tx, c.run_id, g, c.spec_index, nullptr, true, ctx, tasks_json, input_digests);
  if (g.any_hpo) add_best_values(p, ctx);  // {{tasks.X.best.K}} of upstream studies
  // A cacheable study is a cache hit as a whole (its outputs carry the best values), or records
  // its key on the driver (prepare_hpo passes finish.cache_* on) for the next run to find.
  std::optional<std::pair<std::string, std::string>> study_cmd;
  if (t.hpo && t.cache && c.name.find('[') == std::string::npos &&
      (study_cmd = study_command(p, c.spec_index, ctx))) {
    auto sorted = input_digests;
    std::sort(sorted.begin(), sorted.end());
    Sha256 inputs_hash;
    for (const auto& d : sorted) inputs_hash.update(d + '\n');
    CacheComponents cc{study_cmd->second, inputs_hash.hex(),
                       executor_.code_digest(study_cmd->first, opt_.task_path, where)};
    finish.cache_key = cache_key(cc);
    finish.cache_components = boost::json::serialize(cc.to_json());
    if (auto hit = store::find_cache_hit(tx, *finish.cache_key)) {
      finish.state = kCached;
      finish.attempt_state = kSucceeded;
      finish.outputs = hit->outputs;
      finish.cache_reason = "hit: same study, trial command, inputs and executable as run " +
                            std::to_string(hit->run_id) + " (task run " +
                            std::to_string(hit->task_run_id) + ")" + image_note(cc.binary);
      return false;
    }
    finish.cache_reason =
        explain_miss(store::last_cache_components(tx, c.pipeline_version_id, c.name), cc);
  }
  std::optional<spec::Task> trial;  // hpo (study.hpp): a trial runs, a driver becomes its study
  if (t.hpo && !(trial = prepare_hpo(tx, c, t, ctx, finish))) return false;
  DispatchPlan plan = plan_dispatch(trial ? *trial : t, ctx);
  if (plan.kind != DispatchPlan::Kind::Run) {
    finish.state = plan.kind == DispatchPlan::Kind::Skip ? kSkipped : kFailed;
    finish.attempt_state = finish.state;
    finish.error = plan.reason;
    return false;
  }
  Command cmd;
  if (auto err = build_command(plan, c.run_id, c.name, *run, std::move(tasks_json), cmd)) {
    finish.state = kFailed;
    finish.attempt_state = kFailed;
    finish.error = *err;
    return false;
  }
  cmd.input_digests = input_digests;
  boost::json::array argv_json;
  for (const auto& a : plan.argv) argv_json.emplace_back(a);
  op.task_run_id = c.task_run_id;
  op.attempt = c.attempt;
  op.argv_json = boost::json::serialize(argv_json);
  if (t.timeout) op.timeout_ms = t.timeout->count();
  if (t.cache && !trial) {
    std::sort(input_digests.begin(), input_digests.end());
    Sha256 inputs_hash;
    for (const auto& d : input_digests) inputs_hash.update(d + '\n');
    CacheComponents cc{cmd.command_hash, inputs_hash.hex(),
                       executor_.code_digest(plan.argv[0], opt_.task_path, where)};
    std::string ck = cache_key(cc);
    std::string comps = boost::json::serialize(cc.to_json());
    if (auto hit = store::find_cache_hit(tx, ck)) {
      finish.state = kCached;
      finish.attempt_state = kSucceeded;
      finish.outputs = hit->outputs;
      finish.cache_key = ck;
      finish.cache_components = comps;
      finish.cache_reason = "hit: same command, inputs and executable as run " +
                            std::to_string(hit->run_id) + " (task run " +
                            std::to_string(hit->task_run_id) + ")" + image_note(cc.binary);
      store::copy_artifact_uses(tx, hit->task_run_id, c.task_run_id);
      return false;
    }
    op.cache_key = ck;
    op.cache_components = comps;
    op.cache_reason =
        explain_miss(store::last_cache_components(tx, c.pipeline_version_id, c.name), cc);
  }
  out = make_prepared({.task_run_id = c.task_run_id,
                       .run_id = c.run_id,
                       .version_id = c.pipeline_version_id,
                       .attempt = c.attempt,
                       .max_attempts = c.max_attempts,
                       .spec_index = c.spec_index,
                       .name = c.name,
                       .maybe_trial = trial.has_value(),
                       .run = run},
                      t.timeout, std::move(cmd), c.models);
  return true;
}

void Core::claim_and_dispatch(store::Tx& tx, Pass& p) {
  std::vector<Prepared>& to_spawn = p.to_spawn;
  for (int round = 0; round < 16; ++round) {
    int room = free_slots(p.finished_keys.size()) - static_cast<int>(to_spawn.size());
    if (room <= 0) {
      p.claimed_full = true;
      return;
    }
    auto t0 = std::chrono::steady_clock::now();
    auto claimed = store::claim_ready(tx, opt_.server_id, room, opt_.lease, pools_exist_);
    auto claim_us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    stats_.claim_us_total += claim_us;
    if (opt_.observe) opt_.observe("claim", static_cast<double>(claim_us) / 1e6);
    if (claimed.empty()) return;
    stats_.claimed += static_cast<int64_t>(claimed.size());
    if (static_cast<int>(claimed.size()) == room) p.claimed_full = true;
    std::vector<store::DispatchOp> ops;
    Finishes fin;
    if (fast_) fast_->saw_models(claimed.back().models);  // for its early starts
    for (const auto& c : claimed) {
      const spec::Pipeline* pl = pipeline(tx, c.pipeline_version_id);
      Prepared prep;
      store::DispatchOp op;
      store::FinishOp f;
      bool spawn = false;
      if (!pl) {
        f.task_run_id = c.task_run_id;
        f.attempt = c.attempt;
        f.state = f.attempt_state = kFailed;
        f.error = "pipeline version " + std::to_string(c.pipeline_version_id) + " is unreadable";
      } else {
        spawn = prepare_claimed(tx, c, *pl, prep, op, f);
      }
      if (spawn) {
        ops.push_back(std::move(op));
        to_spawn.push_back(std::move(prep));
        continue;
      }
      if (f.state.empty()) continue;  // an hpo driver became its study: no process
      if (f.state == kFailed) fin.failed.push_back(c.task_run_id);
      if (f.state == kSkipped) fin.skipped.push_back(c.task_run_id);
      fin.ops.push_back(std::move(f));
    }
    auto ids = store::start_attempts(tx, ops, opt_.server_id, executor_.ref_prefix());
    if (!ops.empty()) {  // attempts made, nothing started yet
      crash::point("claim:before-commit");
      crash::at_commit("claim:after-commit");
    }
    size_t first = to_spawn.size() - ops.size();
    for (size_t i = 0; i < ops.size(); ++i) to_spawn[first + i].active.attempt_id = ids[i];
    if (fin.ops.empty()) return;  // nothing new can have become ready
    apply_finishes(tx, fin, true);
  }
}

}  // namespace ctflow::engine
