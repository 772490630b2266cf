// Segments: the steps of a chain that the executor ran ahead (armed children that fired and
// ended before the statement that dispatches them) are recorded by that statement as
// dispatched and succeeded at once (store::DirectDispatch::Done), a segment of the chain per
// statement, instead of a pass each.
#include "scheduler/common/states.hpp"
#include "scheduler/engine/core.hpp"
#include "scheduler/engine/fast_path.hpp"

namespace ctflow::engine {

void FastPath::build_segment(Pass& pass, std::vector<Step>& steps) {
  std::vector<DirectPlan>& direct = pass.direct;
  std::vector<Prepared>& early = pass.early;
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
    else if (auto a = core_.active_.find(d.parent_key); a != core_.active_.end())
      after = a->second.task_run_id;
    if (!after) continue;
    std::vector<exec::ExecEvent> evs;
    for (const auto& ev : deferred_)
      if (ev.key == key) evs.push_back(ev);
    core_.active_[key] = p.active;  // process_events reads it; the caller keeps it only if recorded
    size_t fired_from = fired_now_.size();
    Step step;
    step.key = key;
    Pass one;
    core_.process_events(evs, one);
    step.fresh = std::move(one.fresh);
    const auto& fin = one.fin.ops;
    if (!one.results.empty() || !one.fin.failed.empty() || fin.size() != 1 ||
        fin[0].state != kSucceeded) {
      // Not a plain success: the next pass records it, after this statement dispatches it.
      fired_now_.resize(fired_from);
      core_.active_.erase(key);
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
    take_fired(room, pass, fired_from);
  }
}

}  // namespace ctflow::engine
