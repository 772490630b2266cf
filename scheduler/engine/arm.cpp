// Armed children: the chain below a running task, started by the executor itself.
//
// A chain's step costs the engine a pass and a statement (finish the parent, dispatch the child)
// however early the child starts (start_early); with the statement on the path, a 1000-step
// chain took 2.3-2.6x what make needs. So while a task runs, the engine prepares the process of
// its only (first) child as it would start it if the task succeeded without outputs, and of that
// child's child, down to arm_depth steps, and hands them to the executor (ChainAcceleration::arm):
// when a task exits 0 and wrote no outputs file (what the engine reads as success with outputs {}),
// the supervisor starts what is armed on it at once, records it in the task's claim as a child
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
#include "scheduler/engine/core.hpp"
#include "scheduler/engine/fast_path.hpp"
#include "scheduler/executor/executor.hpp"

namespace ctflow::engine {

std::optional<DirectPlan> FastPath::plan_armed(const Active& root, int index,
                                               const std::map<int, store::UpstreamInfo>& assumed) {
  auto it = core_.specs_.find(root.version_id);
  if (it == core_.specs_.end()) return std::nullopt;
  const Graph& g = core_.graph(root.version_id, *it->second);
  if (index < 0 || static_cast<size_t>(index) >= g.children.size()) return std::nullopt;
  // One child per task: it takes the slot its parent leaves.
  for (int ci : g.children[static_cast<size_t>(index)]) {
    if (!parents_done(root.run_id, g, ci, &assumed)) continue;
    auto d = plan_task(root.run_id, root.run, root.version_id, ci, &assumed);
    if (!d) continue;
    d->parents_done = true;
    return d;
  }
  return std::nullopt;
}

void FastPath::arm_ahead() {
  if (!core_.opt_.start_early || core_.opt_.arm_depth <= 0 || !models_) return;
  for (auto& [key, a] : core_.active_) {
    if (!a.run || a.maybe_trial || a.cancelled || a.timed_out || !a.redo.empty() || a.arm_tried)
      continue;
    auto sp = core_.specs_.find(a.version_id);
    if (sp == core_.specs_.end()) continue;
    const spec::Pipeline& p = *sp->second;
    std::string k = key;
    int index = a.spec_index;
    std::map<int, store::UpstreamInfo> assumed;  // the chain above: succeeded, outputs {}
    int max_depth = chain_runs_.count(a.run_id) ? kFiredDepthFactor * core_.opt_.arm_depth
                                                : core_.opt_.arm_depth;
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
      Prepared prep = core_.make_prepared({.task_run_id = id,
                                           .run_id = a.run_id,
                                           .version_id = a.version_id,
                                           .attempt = 1,
                                           .spec_index = d->spec_index,
                                           .name = d->name,
                                           .maybe_trial = false,
                                           .run = a.run},
                                          d->timeout, d->cmd, *models_);
      prep.started = true;
      if (!core_.accel_->arm(k, prep.req)) {
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

void FastPath::take_fired(int& room, Pass& p, size_t from) {
  auto now = std::chrono::steady_clock::now();
  for (size_t i = from; i < fired_now_.size(); ++i) {
    const std::string& key = fired_now_[i];
    const Armed& n = armed_.at(key);
    DirectPlan d = n.plan;  // copies: the node goes only when the dispatch commits
    d.parent_key = n.parent;
    d.early = static_cast<int>(p.early.size());
    Prepared prep = n.prep;
    if (d.timeout) prep.active.deadline = now + *d.timeout;  // from its start, not its arming
    p.direct.push_back(std::move(d));
    p.early.push_back(std::move(prep));
    --room;
    if (log::trace_pass()) log::info("fired {}", key);
    count_early_start();
  }
}

void FastPath::count_early_start() {
  if (++early_starts_ == core_.opt_.crash_after_early_starts) {
    log::warn("engine: killing this server after early start {} (test option)", early_starts_);
    ::kill(::getpid(), SIGKILL);
  }
}

void FastPath::unlink_armed(const std::string& key) {
  auto it = armed_.find(key);
  if (it == armed_.end()) return;
  if (auto up = armed_on_.find(it->second.parent); up != armed_on_.end() && up->second == key)
    armed_on_.erase(up);
  armed_.erase(it);
}

void FastPath::drop_armed(const std::string& key) {
  if (auto on = armed_on_.find(key); on != armed_on_.end()) drop_armed(on->second);
  unlink_armed(key);
}

void FastPath::kill_unrecorded(const std::string& key) {
  log::info("engine: {} started early but not dispatched: killed", key);
  core_.executor_.cancel(key, Millis(0));  // disarms what is armed on it, too
  discard_.insert(key);
  drop_armed(key);
}

void FastPath::move_aside(const std::string& key) {
  std::string dir = core_.executor_.attempt_dir(key);
  std::string aside =
      dir + ".discarded-" + std::to_string(::getpid()) + "-" + std::to_string(++discarded_);
  if (::rename(dir.c_str(), aside.c_str()) != 0)
    log::warn("engine: cannot move {} aside: {}", dir, std::strerror(errno));
}

void FastPath::disarm_all() {
  for (auto& [key, n] : armed_)
    if (!n.fired && !n.disarmed) {
      n.disarmed = true;  // until its parent's exit says whether it fired
      core_.accel_->disarm(n.parent);
    }
}

}  // namespace ctflow::engine
