// The engine's pass, part two: executor events -> transitions, adoption, claim -> dispatch.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "scheduler/common/json_util.hpp"
#include "scheduler/common/log.hpp"
#include "scheduler/common/sha256.hpp"
#include "scheduler/engine/engine.hpp"
#include "scheduler/engine/plan.hpp"
#include "scheduler/engine/results.hpp"
#include "scheduler/engine/study.hpp"
#include "scheduler/executor/local/local_executor.hpp"
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

void Engine::process_events(const std::vector<exec::ExecEvent>& events,
                            std::vector<store::Started>& started,
                            std::vector<store::FinishOp>& finishes,
                            std::vector<store::AttemptResult>& results,
                            std::vector<size_t>& result_finish, std::vector<int64_t>& failed,
                            std::vector<std::string>& finished_keys,
                            std::map<int64_t, std::map<int, store::UpstreamInfo>>& fresh) {
  auto now = now_utc();
  std::set<std::string> exited;
  std::vector<std::string> fenced;
  for (const auto& ev : events)
    if (ev.kind == exec::ExecEvent::Kind::Exited) exited.insert(ev.key);
  for (const auto& ev : events) {
    auto it = active_.find(ev.key);
    if (it == active_.end()) {
      if (armed_.count(ev.key)) {  // fired, not dispatched yet: looked at after that commit
        deferred_.push_back(ev);
        continue;
      }
      if (ev.kind == exec::ExecEvent::Kind::Exited) {  // not ours (any more)
        for (const auto& c : ev.fired) kill_unrecorded(c);
        if (discard_.erase(ev.key)) move_aside(ev.key);
      }
      continue;
    }
    Active& a = it->second;
    if (ev.kind == exec::ExecEvent::Kind::Started) {
      a.started_at = ev.at;
      if (a.timeout && !a.deadline)
        a.deadline =
            std::chrono::steady_clock::now() +
            std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                *a.timeout -
                std::max(Millis(0), std::chrono::duration_cast<Millis>(now_utc() - ev.at)));
      if (exited.count(ev.key)) continue;  // its finish records when it started
      // A task that ends within the debounce is never recorded as running (its finish is the
      // next transition); a longer one is, a debounce after it started.
      if (now - ev.at < opt_.started_debounce && !a.cancelled) {
        held_started_.push_back(ev);
        continue;
      }
      started.push_back({a.task_run_id, a.attempt_id, a.attempt, ev.at});
      continue;
    }
    AttemptOutcome o;
    o.exit_code = ev.exit_code;
    o.signal = ev.signal;
    o.error = ev.error;
    o.cancelled = a.cancelled;
    o.timed_out = a.timed_out && !a.cancelled;
    if (!a.redo.empty()) o = {.redo = a.redo};             // whatever it did: it runs again
    if (ev.error == "attempt was fenced by an adopter") {  // someone else owns it now
      fenced.push_back(ev.key);
      continue;
    }
    if (ev.error == "cancelled before start") o.cancelled = true;
    const spec::Pipeline* p = nullptr;
    if (auto s = specs_.find(a.version_id); s != specs_.end()) p = s->second.get();
    TaskFacts facts;
    facts.attempt = a.attempt;
    facts.max_attempts = a.max_attempts;
    if (p) {
      facts.retry = p->tasks[static_cast<size_t>(a.spec_index)].retry;
      facts.timeout = p->tasks[static_cast<size_t>(a.spec_index)].timeout;
    }
    std::string dir = executor_.attempt_dir(ev.key);
    store::AttemptResult res;
    std::optional<TaskResult> tr;
    bool exit_ok =
        !o.cancelled && !o.timed_out && ev.error.empty() && ev.exit_code && *ev.exit_code == 0;
    if (exit_ok) {
      auto r = read_task_result(dir + "/outputs.json", dir + "/work", opt_.data_dir + "/artifacts");
      if (r)
        tr = std::move(*r);
      else
        o.result_error = r.error();
    }
    Transition t = plan_completion(facts, o, now);
    store::FinishOp f;
    f.task_run_id = a.task_run_id;
    f.attempt_id = a.attempt_id;
    f.attempt = a.attempt;
    f.state = t.state;
    f.attempt_state = t.attempt_state;
    f.error = t.error;
    f.exit_code = ev.exit_code;
    f.not_before = t.not_before;
    f.started_at = a.started_at;
    if (ev.at != TimePoint{}) f.finished_at = ev.at;
    f.refund = t.refund;
    if (p && !a.maybe_trial && a.spec_index >= 0) {
      const Graph& g = graph(a.version_id, *p);
      f.leaf = static_cast<size_t>(a.spec_index) < g.children.size() &&
               g.children[static_cast<size_t>(a.spec_index)].empty();
    }
    if (t.state == "failed") failed.push_back(a.task_run_id);
    // Metrics the task wrote are kept whatever the outcome.
    int64_t off = a.metrics_offset;
    res.metrics = read_metrics(dir + "/metrics.jsonl", off);
    res.task_run_id = a.task_run_id;
    res.run_id = a.run_id;
    bool plain = false;  // succeeded, its outputs all its children need (`fresh`)
    if (tr && t.state == "succeeded") {
      f.outputs = tr->outputs;
      res.artifacts = std::move(tr->artifacts);
      res.registry = std::move(tr->registry);
      // What its children's templates and inputs need (direct.cpp); with artifacts or registry
      // operations the store decides what they become, so those children go through the claim.
      plain = res.artifacts.empty() && res.registry.empty() && !a.maybe_trial;
      if (plain) fresh[a.run_id][a.spec_index] = {a.name, "succeeded", f.outputs, {}};
    }
    // What was armed on it: started if it succeeded (fired), else dropped by the executor.
    for (const auto& c : ev.fired) {
      auto n = armed_.find(c);
      if (plain && n != armed_.end() && n->second.parent == ev.key) {
        n->second.fired = true;
        fired_now_.push_back(c);
        if (chain_runs_.size() > 10'000) chain_runs_.clear();  // runs long finished
        chain_runs_.insert(a.run_id);
      } else {
        kill_unrecorded(c);
      }
    }
    if (auto on = armed_on_.find(ev.key); on != armed_on_.end())
      if (std::find(ev.fired.begin(), ev.fired.end(), on->second) == ev.fired.end()) {
        drop_armed(on->second);
        chain_runs_.erase(a.run_id);  // its chain does not run by itself: arm it shallow
      }
    finishes.push_back(std::move(f));
    if (!res.metrics.empty() || !res.artifacts.empty() || !res.registry.empty() ||
        (t.state == "succeeded" && a.has_input_artifacts)) {
      results.push_back(std::move(res));
      result_finish.push_back(finishes.size() - 1);
    }
    finished_keys.push_back(ev.key);
  }
  for (const auto& k : fenced) active_.erase(k);  // its slot is free again
}

void Engine::adopt(store::Tx& tx, std::vector<std::pair<std::string, Active>>& adopted,
                   const std::vector<Prepared>& dispatching) {
  auto dead = dead_owners(tx);
  int room = std::max(opt_.max_parallel * 4, 64);
  std::vector<int64_t> known;
  for (const auto& [k, a] : active_) known.push_back(a.task_run_id);
  for (const auto& p : dispatching) known.push_back(p.active.task_run_id);
  auto rows = store::adopt_expired(tx, opt_.server_id, opt_.lease, dead, room, known);
  for (const auto& d : dead) store::forget_server(tx, d);
  std::vector<store::FinishOp> finishes;
  std::vector<int64_t> failed, skipped;
  for (const auto& r : rows) {
    stats_.adopted++;
    std::string key = exec::attempt_key(r.task_run_id, r.attempt);
    const spec::Pipeline* p = pipeline(tx, r.pipeline_version_id);
    Active a;
    a.task_run_id = r.task_run_id;
    a.run_id = r.run_id;
    a.attempt_id = r.attempt_id;
    a.version_id = r.pipeline_version_id;
    a.attempt = r.attempt;
    a.max_attempts = r.max_attempts;
    a.spec_index = r.spec_index;
    a.name = r.name;
    a.metrics_offset = r.metrics_offset;
    a.cancelled = r.cancel_requested;
    if (r.deadline_in_ms)
      a.deadline =
          std::chrono::steady_clock::now() + Millis(std::max<int64_t>(0, *r.deadline_in_ms));
    auto state = r.executor_ref.empty() ? exec::AdoptState::Lost : executor_.adopt(r.executor_ref);
    log::info("adopted {} (run {}, task {}): {}", key, r.run_id, r.name,
              state == exec::AdoptState::Finished     ? "finished"
              : state == exec::AdoptState::Running    ? "running"
              : state == exec::AdoptState::NotStarted ? "never started"
                                                      : "lost");
    if (state == exec::AdoptState::Finished || state == exec::AdoptState::Running) {
      if (r.cancel_requested && state == exec::AdoptState::Running)
        executor_.cancel(key, opt_.cancel_grace);
      adopted.emplace_back(key, std::move(a));
      continue;
    }
    AttemptOutcome o;
    if (state == exec::AdoptState::NotStarted)
      o.not_started = true;
    else
      o.error = exec::kLostError;
    if (r.cancel_requested) o.cancelled = true;
    TaskFacts facts{r.attempt, r.max_attempts, {}, {}};
    if (p) facts.retry = p->tasks[static_cast<size_t>(r.spec_index)].retry;
    Transition t = plan_completion(facts, o, now_utc());
    store::FinishOp f;
    f.task_run_id = r.task_run_id;
    f.attempt_id = r.attempt_id;
    f.attempt = r.attempt;
    f.state = t.state;
    f.attempt_state = t.attempt_state;
    f.error = t.error;
    f.not_before = t.not_before;
    f.refund = t.refund;
    if (t.state == "failed") failed.push_back(r.task_run_id);
    finishes.push_back(std::move(f));
  }
  apply_finishes(tx, finishes, failed, skipped);
}

std::string Engine::binary_digest(const std::string& exe) {
  struct stat st;
  if (exe.empty() || ::stat(exe.c_str(), &st) != 0) return "none";
  std::string stamp = std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) +
                      ":" + std::to_string(st.st_size);
  auto it = binary_digests_.find(exe);
  if (it != binary_digests_.end() && it->second.first == stamp) return it->second.second;
  std::string d = sha256_file(exe).value_or("unreadable");
  binary_digests_[exe] = {stamp, d};
  return d;
}

bool Engine::prepare(store::Tx& tx, const store::ClaimedTask& c, const spec::Pipeline& p,
                     Prepared& out, store::DispatchOp& op, store::FinishOp& finish,
                     const boost::json::object& models) {
  const spec::Task& t = p.tasks[static_cast<size_t>(c.spec_index)];
  finish.task_run_id = c.task_run_id;
  finish.attempt = c.attempt;
  auto run = run_context(c);
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
    CacheComponents cc{
        study_cmd->second, inputs_hash.hex(),
        binary_digest(exec::LocalExecutor::resolve(study_cmd->first, opt_.task_path))};
    finish.cache_key = cache_key(cc);
    finish.cache_components = boost::json::serialize(cc.to_json());
    if (auto hit = store::find_cache_hit(tx, *finish.cache_key)) {
      finish.state = "cached";
      finish.attempt_state = "succeeded";
      finish.outputs = hit->outputs;
      finish.cache_reason = "hit: same study, trial command, inputs and executable as run " +
                            std::to_string(hit->run_id) + " (task run " +
                            std::to_string(hit->task_run_id) + ")";
      return false;
    }
    finish.cache_reason =
        explain_miss(store::last_cache_components(tx, c.pipeline_version_id, c.name), cc);
  }
  std::optional<spec::Task> trial;  // hpo (study.hpp): a trial runs, a driver becomes its study
  if (t.hpo && !(trial = prepare_hpo(tx, c, t, ctx, finish))) return false;
  DispatchPlan plan = plan_dispatch(trial ? *trial : t, ctx);
  if (plan.kind != DispatchPlan::Kind::Run) {
    finish.state = plan.kind == DispatchPlan::Kind::Skip ? "skipped" : "failed";
    finish.attempt_state = finish.state;
    finish.error = plan.reason;
    return false;
  }
  Command cmd;
  if (auto err = build_command(plan, c.run_id, c.name, *run, std::move(tasks_json), cmd)) {
    finish.state = "failed";
    finish.attempt_state = "failed";
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
                       binary_digest(exec::LocalExecutor::resolve(plan.argv[0], opt_.task_path))};
    std::string ck = cache_key(cc);
    std::string comps = boost::json::serialize(cc.to_json());
    if (auto hit = store::find_cache_hit(tx, ck)) {
      finish.state = "cached";
      finish.attempt_state = "succeeded";
      finish.outputs = hit->outputs;
      finish.cache_key = ck;
      finish.cache_components = comps;
      finish.cache_reason = "hit: same command, inputs and executable as run " +
                            std::to_string(hit->run_id) + " (task run " +
                            std::to_string(hit->task_run_id) + ")";
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
                      t.timeout, std::move(cmd), models);
  return true;
}

void Engine::claim_and_dispatch(store::Tx& tx, std::vector<Prepared>& to_spawn, size_t ending,
                                bool& claimed_full) {
  for (int round = 0; round < 16; ++round) {
    int room = free_slots(ending) - static_cast<int>(to_spawn.size());
    if (room <= 0) {
      claimed_full = true;
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
    if (static_cast<int>(claimed.size()) == room) claimed_full = true;
    std::vector<store::DispatchOp> ops;
    std::vector<store::FinishOp> finishes;
    std::vector<int64_t> failed, skipped;
    models_ = claimed.back().models;  // for start_early
    for (const auto& c : claimed) {
      const spec::Pipeline* p = pipeline(tx, c.pipeline_version_id);
      Prepared prep;
      store::DispatchOp op;
      store::FinishOp fin;
      bool spawn = false;
      if (!p) {
        fin.task_run_id = c.task_run_id;
        fin.attempt = c.attempt;
        fin.state = fin.attempt_state = "failed";
        fin.error = "pipeline version " + std::to_string(c.pipeline_version_id) + " is unreadable";
      } else {
        spawn = prepare(tx, c, *p, prep, op, fin, c.models);
      }
      if (spawn) {
        ops.push_back(std::move(op));
        to_spawn.push_back(std::move(prep));
        continue;
      }
      if (fin.state.empty()) continue;  // an hpo driver became its study: no process
      if (fin.state == "failed") failed.push_back(c.task_run_id);
      if (fin.state == "skipped") skipped.push_back(c.task_run_id);
      finishes.push_back(std::move(fin));
    }
    auto ids = store::start_attempts(tx, ops, opt_.server_id, executor_.ref_prefix());
    size_t first = to_spawn.size() - ops.size();
    for (size_t i = 0; i < ops.size(); ++i) to_spawn[first + i].active.attempt_id = ids[i];
    if (finishes.empty()) return;  // nothing new can have become ready
    apply_finishes(tx, finishes, failed, skipped);
  }
}

}  // namespace ctflow::engine
