// Executor events -> transitions: a start is recorded (after a debounce, so that a short task's
// start and end share one statement), an exit becomes a FinishOp through plan_completion
// (plan.hpp), with its outputs file, metrics and artifacts read here. No database.
#include "scheduler/common/states.hpp"
#include "scheduler/engine/core.hpp"
#include "scheduler/engine/fast_path.hpp"
#include "scheduler/engine/results.hpp"

namespace ctflow::engine {

void Core::process_events(const std::vector<exec::ExecEvent>& events, Pass& p) {
  auto now = now_utc();
  std::set<std::string> exited;
  std::vector<std::string> fenced;
  for (const auto& ev : events)
    if (ev.kind == exec::ExecEvent::Kind::Exited) exited.insert(ev.key);
  for (const auto& ev : events) {
    auto it = active_.find(ev.key);
    if (it == active_.end()) {  // not ours (any more), or the fast path's
      if (fast_) fast_->unknown_event(ev);
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
      p.started.push_back({a.task_run_id, a.attempt_id, a.attempt, ev.at});
      continue;
    }
    AttemptOutcome o;
    o.exit_code = ev.exit_code;
    o.signal = ev.signal;
    o.error = ev.error;
    o.failure = ev.failure;
    o.cancelled = a.cancelled;
    o.timed_out = a.timed_out && !a.cancelled;
    if (!a.redo.empty()) o = {.redo = a.redo};  // whatever it did: it runs again
    if (ev.failure == exec::Failure::Fenced) {  // someone else owns it now
      fenced.push_back(ev.key);
      continue;
    }
    if (ev.failure == exec::Failure::CancelledBeforeStart) o.cancelled = true;
    const spec::Pipeline* pl = known_pipeline(a.version_id);
    TaskFacts facts;
    facts.attempt = a.attempt;
    facts.max_attempts = a.max_attempts;
    if (pl) {
      facts.retry = pl->tasks[static_cast<size_t>(a.spec_index)].retry;
      facts.timeout = pl->tasks[static_cast<size_t>(a.spec_index)].timeout;
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
    if (pl && !a.maybe_trial && a.spec_index >= 0) {
      const Graph& g = graph(a.version_id, *pl);
      f.leaf = static_cast<size_t>(a.spec_index) < g.children.size() &&
               g.children[static_cast<size_t>(a.spec_index)].empty();
    }
    if (t.state == kFailed) p.fin.failed.push_back(a.task_run_id);
    // Metrics the task wrote are kept whatever the outcome.
    int64_t off = a.metrics_offset;
    res.metrics = read_metrics(dir + "/metrics.jsonl", off);
    res.task_run_id = a.task_run_id;
    res.run_id = a.run_id;
    bool plain = false;  // succeeded, its outputs all its children need (`fresh`)
    if (tr && t.state == kSucceeded) {
      f.outputs = tr->outputs;
      res.artifacts = std::move(tr->artifacts);
      res.registry = std::move(tr->registry);
      // What its children's templates and inputs need (the fast path's direct dispatch); with
      // artifacts or registry operations the store decides what they become, so those children
      // go through the claim.
      plain = res.artifacts.empty() && res.registry.empty() && !a.maybe_trial;
      if (plain) p.fresh[a.run_id][a.spec_index] = {a.name, kSucceeded, f.outputs, {}};
    }
    if (fast_) fast_->exited(ev, a, plain);  // what was armed on it fires, or is dropped
    p.fin.ops.push_back(std::move(f));
    if (!res.metrics.empty() || !res.artifacts.empty() || !res.registry.empty() ||
        (t.state == kSucceeded && a.has_input_artifacts)) {
      p.results.push_back(std::move(res));
      p.result_finish.push_back(p.fin.ops.size() - 1);
    }
    p.finished_keys.push_back(ev.key);
  }
  for (const auto& k : fenced) active_.erase(k);  // its slot is free again
}

}  // namespace ctflow::engine
