#pragma once
// The cron scheduler: one thread per server that fires due schedules (domain::fire_schedule), each
// schedule in its own transaction with its row locked FOR UPDATE SKIP LOCKED, so any number of
// replicas can run it against one database and every logical date fires exactly once (the
// schedule_fires unique key is the backstop).
//
// When it wakes (never a busy poll):
//   - at the earliest next_fire_at of live schedules, when the clock runs in real time;
//   - on NOTIFY ctflow_schedules (a version with a schedule was stored, a schedule was paused,
//     resumed or fired by a replica) and on wake() from this process;
//   - on the slow sweep (`sweep`), a safety net for lost notifications;
//   - at once again while a catch-up still owes fires (`max_fires` per schedule per step).
// With a clock that does not run by itself (FileClock, tests), only the last three apply: a test
// writes the new instant to the clock file and sends NOTIFY ctflow_schedules.
//
// Thread-safety: start/stop from the owning thread; wake() from any thread. The ClockSource must
// outlive the scheduler and be safe to call from its thread.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "scheduler/common/clock.hpp"
#include "scheduler/common/time_util.hpp"
#include "scheduler/domain/schedule_ops.hpp"
#include "scheduler/store/db.hpp"

namespace ctflow::engine {

struct CronSchedulerOptions {
  std::string database_url;
  Millis sweep{5'000};           // safety-net interval
  int schedules_per_step = 100;  // due schedules handled per step (oldest due first)
  size_t max_fires = 100;        // fires per schedule per transaction (catch-up continues at once)
  std::function<void()> on_fired;  // after a step that created runs (wake the engine, SSE)
};

struct CronSchedulerStats {  // read with relaxed loads
  std::atomic<int64_t> steps{0}, runs_created{0}, fires_skipped{0}, contended{0};
};

class CronScheduler {
 public:
  CronScheduler(CronSchedulerOptions opt, const ClockSource& clock);
  ~CronScheduler();  // stop()
  void start();
  void stop();
  void wake();
  const CronSchedulerStats& stats() const { return stats_; }

 private:
  struct StepResult {
    bool progress = false;   // a catch-up owes more fires: step again at once
    bool contended = false;  // a due schedule was locked by a replica: wait for its NOTIFY
    std::optional<TimePoint> next_fire;  // earliest next_fire_at after the step
  };
  void thread_main();
  void listen_main();
  StepResult step();
  // When to wake after `r` (steady clock), capped by the sweep.
  std::chrono::steady_clock::time_point wake_time(const StepResult& r) const;

  // Constant after construction.
  const CronSchedulerOptions opt_;
  const ClockSource& clock_;

  // Scheduler thread only.
  std::unique_ptr<store::Connection> db_;
  domain::SpecCache specs_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;     // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  std::atomic<bool> stop_listen_{false};
  CronSchedulerStats stats_;
  std::thread thread_, listener_;
};

}  // namespace ctflow::engine
