// Adoption: attempts whose owner's lease expired, or whose owner died on this host, are taken
// over. The executor finds each by its deterministic reference: finished (its exit is queued),
// running (watched until it ends), never started (fenced: dispatched again), or lost.
#include <signal.h>
#include <unistd.h>

#include "scheduler/common/log.hpp"
#include "scheduler/common/states.hpp"
#include "scheduler/engine/core.hpp"
#include "scheduler/store/engine_ops.hpp"

namespace ctflow::engine {

void Core::adopt(store::Tx& tx, Pass& pass) {
  auto dead = dead_owners(tx);
  int room = std::max(opt_.max_parallel * 4, 64);
  std::vector<int64_t> known;
  for (const auto& [k, a] : active_) known.push_back(a.task_run_id);
  for (const auto& p : pass.to_spawn) known.push_back(p.active.task_run_id);
  auto rows = store::adopt_expired(tx, opt_.server_id, opt_.lease, dead, room, known);
  for (const auto& d : dead) store::forget_server(tx, d);
  Finishes fin;
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
      pass.adopted.emplace_back(key, std::move(a));
      continue;
    }
    AttemptOutcome o;
    if (state == exec::AdoptState::NotStarted)
      o.not_started = true;
    else
      o.error = exec::kLostError, o.failure = exec::Failure::Lost;
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
    if (t.state == kFailed) fin.failed.push_back(r.task_run_id);
    fin.ops.push_back(std::move(f));
  }
  apply_finishes(tx, fin, true);
}

// Replicas are alive while their heartbeat is: each renews servers.seen_at with its leases
// (every lease/3), so one silent for two leases is dead wherever it ran, and its attempts are
// adopted at once instead of one by one as their leases expire. On this host a replica's pid
// tells sooner (a kill -9 is seen at the next pass); a pid means nothing on another host.
std::vector<std::string> Core::dead_owners(store::Tx& tx) {
  std::vector<std::string> dead;
  for (const auto& s : store::suspect_servers(tx, opt_.host, opt_.lease * 2)) {
    if (s.id == opt_.server_id) continue;
    bool gone = s.host == opt_.host && ::kill(s.pid, 0) != 0 && errno == ESRCH;
    if (s.stale || gone) dead.push_back(s.id);
  }
  return dead;
}

}  // namespace ctflow::engine
