// Armed children: the chain below a running task, started by the executor itself.
//
// A chain's step costs the engine a pass and a statement (finish the parent, dispatch the child)
// however early the child starts (start_early); with the statement on the path, a 1000-step
// chain took 2.3-2.6x what make needs. So while a task runs, the engine prepares the process of
// its only (first) child as it would start it if the task succeeded without outputs, and of that
// child's child, down to arm_depth steps, and hands them to the executor (Executor::arm): when a
// task exits 0 and wrote no outputs file (what the engine reads as success with outputs {}), the
// supervisor starts what is armed on it at once, records it in the task's claim as a child
// started early ("next"), and names it in the exit event. The engine then records the steps at
// its own pace: the statement that finishes a task dispatches its fired child like any child
// started early (DirectDispatch::pre), and records the fired children that ended already as
// dispatched and succeeded at once (build_segment: a segment of the chain per statement).
// Nothing runs that the DAG would not run: a child fires only on its parent's success as the
// engine would judge it, with exactly the inputs the engine would have written, and one the
// engine does not dispatch after all (its parent's end did not count as success here, its run
// is being cancelled, the finish did not apply) is killed and its folder moved aside.
#include <signal.h>
#include <unistd.h>

#include <cstring>

#include "scheduler/common/log.hpp"
#include "scheduler/engine/engine.hpp"
#include "scheduler/executor/executor.hpp"

namespace ctflow::engine {

std::optional<Engine::DirectPlan> Engine::plan_armed(
    const Active& root, int index, const std::map<int, store::UpstreamInfo>& assumed) {
  auto it = specs_.find(root.version_id);
  if (it == specs_.end()) return std::nullopt;
  const Graph& g = graph(root.version_id, *it->second);
  if (index < 0 || static_cast<size_t>(index) >= g.children.size()) return std::nullopt;
  // One child per task: it takes the slot its parent leaves.
  for (int ci : g.children[static_cast<size_t>(index)]) {
    bool parents_done = true;
    for (int pi : g.parents[static_cast<size_t>(ci)]) {
      if (assumed.count(pi)) continue;
      auto c = upstream_cache_.find({root.run_id, pi});
      if (c == upstream_cache_.end() ||
          (c->second.info.state != "succeeded" && c->second.info.state != "cached"))
        parents_done = false;
    }
    if (!parents_done) continue;
    auto d = plan_task(root.run_id, root.run, root.version_id, ci, &assumed);
    if (!d) continue;
    d->parents_done = true;
    return d;
  }
  return std::nullopt;
}

void Engine::arm_ahead() {
  if (!opt_.start_early || opt_.arm_depth <= 0 || !models_) return;
  for (auto& [key, a] : active_) {
    if (!a.run || a.maybe_trial || a.cancelled || a.timed_out || !a.redo.empty() || a.arm_tried)
      continue;
    auto sp = specs_.find(a.version_id);
    if (sp == specs_.end()) continue;
    const spec::Pipeline& p = *sp->second;
    std::string k = key;
    int index = a.spec_index;
    std::map<int, store::UpstreamInfo> assumed;  // the chain above: succeeded, outputs {}
    int max_depth =
        chain_runs_.count(a.run_id) ? kFiredDepthFactor * opt_.arm_depth : opt_.arm_depth;
    for (int depth = 0; depth < max_depth; ++depth) {
      assumed[index] = {p.tasks[static_cast<size_t>(index)].name, "succeeded", {}, {}};
      if (auto on = armed_on_.find(k); on != armed_on_.end()) {
        const Armed& n = armed_.at(on->second);
        if (n.disarmed) break;
        k = on->second;
        index = n.plan.spec_index;
        continue;
      }
      auto d = plan_armed(a, index, assumed);
      int64_t id = d ? task_id(a.run_id, d->spec_index) : 0;
      if (!id) {
        if (depth == 0) a.arm_tried = true;
        break;
      }
      Prepared prep = make_prepared({.task_run_id = id,
                                     .run_id = a.run_id,
                                     .version_id = a.version_id,
                                     .attempt = 1,
                                     .spec_index = d->spec_index,
                                     .name = d->name,
                                     .maybe_trial = false,
                                     .run = a.run},
                                    d->timeout, d->cmd, *models_);
      prep.started = true;
      if (!executor_.arm(k, prep.req)) {
        if (depth == 0) a.arm_tried = true;
        break;
      }
      std::string child = prep.req.key;
      index = d->spec_index;
      armed_[child] = {.parent = k, .plan = std::move(*d), .prep = std::move(prep)};
      armed_on_[k] = child;
      k = child;
    }
  }
}

void Engine::take_fired(int& room, std::vector<DirectPlan>& direct, std::vector<Prepared>& early,
                        size_t from) {
  static bool trace = std::getenv("CTFLOW_TRACE_PASS") != nullptr;
  auto now = std::chrono::steady_clock::now();
  for (size_t i = from; i < fired_now_.size(); ++i) {
    const std::string& key = fired_now_[i];
    const Armed& n = armed_.at(key);
    DirectPlan d = n.plan;  // copies: the node goes only when the dispatch commits
    d.parent_key = n.parent;
    d.early = static_cast<int>(early.size());
    Prepared p = n.prep;
    if (d.timeout) p.active.deadline = now + *d.timeout;  // from its start, not its arming
    direct.push_back(std::move(d));
    early.push_back(std::move(p));
    --room;
    if (trace) log::info("fired {}", key);
    if (++early_starts_ == opt_.crash_after_early_starts) {
      log::warn("engine: killing this server after early start {} (test option)", early_starts_);
      ::kill(::getpid(), SIGKILL);
    }
  }
}

void Engine::build_segment(std::vector<DirectPlan>& direct, std::vector<Prepared>& early,
                           std::vector<Step>& steps) {
  if (!models_) return;
  std::map<std::string, int64_t> head;  // a step's key -> the finishing task the segment follows
  for (size_t i = 0; i < direct.size(); ++i) {
    DirectPlan& d = direct[i];
    if (d.early < 0 || d.task_run_id || steps.size() >= kMaxSegment) continue;
    Prepared& p = early[static_cast<size_t>(d.early)];
    const std::string& key = p.req.key;
    bool exited = false;
    for (const auto& ev : deferred_)
      exited = exited || (ev.key == key && ev.kind == exec::ExecEvent::Kind::Exited);
    // Its inputs must name the deployments the statement will check (DirectArgs::models).
    if (!exited || !p.active.redo.empty() || p.models != *models_) continue;
    int64_t after = 0;
    if (auto h = head.find(d.parent_key); h != head.end())
      after = h->second;
    else if (auto a = active_.find(d.parent_key); a != active_.end())
      after = a->second.task_run_id;
    if (!after) continue;
    std::vector<exec::ExecEvent> evs;
    for (const auto& ev : deferred_)
      if (ev.key == key) evs.push_back(ev);
    active_[key] = p.active;  // process_events reads it; the caller keeps it only if recorded
    size_t fired_from = fired_now_.size();
    Step step;
    step.key = key;
    std::vector<store::Started> started;
    std::vector<store::FinishOp> fin;
    std::vector<store::AttemptResult> results;
    std::vector<size_t> result_finish;
    std::vector<int64_t> failed;
    std::vector<std::string> keys_done;
    process_events(evs, started, fin, results, result_finish, failed, keys_done, step.fresh);
    if (!results.empty() || !failed.empty() || fin.size() != 1 || fin[0].state != "succeeded") {
      // Not a plain success: the next pass records it, after this statement dispatches it.
      fired_now_.resize(fired_from);
      active_.erase(key);
      continue;
    }
    step.finish = fin[0];
    d.done = store::DirectDispatch::Done{.task_run_id = p.active.task_run_id,
                                         .after = after,
                                         .seq = static_cast<int>(steps.size()),
                                         .exit_code = fin[0].exit_code,
                                         .started_at = fin[0].started_at,
                                         .finished_at = fin[0].finished_at};
    head[key] = after;
    steps.push_back(std::move(step));
    // What it started in turn (its own fired child) follows in the same statement.
    int room = 1;
    take_fired(room, direct, early, fired_from);
  }
}

void Engine::unlink_armed(const std::string& key) {
  auto it = armed_.find(key);
  if (it == armed_.end()) return;
  if (auto up = armed_on_.find(it->second.parent); up != armed_on_.end() && up->second == key)
    armed_on_.erase(up);
  armed_.erase(it);
}

void Engine::drop_armed(const std::string& key) {
  if (auto on = armed_on_.find(key); on != armed_on_.end()) drop_armed(on->second);
  unlink_armed(key);
}

void Engine::kill_unrecorded(const std::string& key) {
  log::info("engine: {} started early but not dispatched: killed", key);
  executor_.cancel(key, Millis(0));  // disarms what is armed on it, too
  discard_.insert(key);
  drop_armed(key);
}

void Engine::move_aside(const std::string& key) {
  std::string dir = executor_.attempt_dir(key);
  std::string aside =
      dir + ".discarded-" + std::to_string(::getpid()) + "-" + std::to_string(++discarded_);
  if (::rename(dir.c_str(), aside.c_str()) != 0)
    log::warn("engine: cannot move {} aside: {}", dir, std::strerror(errno));
}

void Engine::disarm_all() {
  for (auto& [key, n] : armed_)
    if (!n.fired && !n.disarmed) {
      n.disarmed = true;  // until its parent's exit says whether it fired
      executor_.disarm(n.parent);
    }
}

}  // namespace ctflow::engine
