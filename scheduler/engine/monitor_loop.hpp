#pragma once
// The monitor loop: one thread per server that checks every live monitor (monitor/check.hpp),
// each in its own transaction with its row locked FOR UPDATE SKIP LOCKED, so any number of
// replicas can run it against one database and a crossing starts one run.
//
// When it checks (never a busy poll):
//   - every `interval` (steady clock);
//   - soon after labels arrive (NOTIFY ctflow_predictions from the label routes), at most once
//     per `debounce`, since a labeller may post many small batches;
//   - on wake() from this process.
// The ClockSource gives "now" for cooldowns and the logical date of the runs it starts (a
// FileClock in tests); waiting always uses the steady clock.
//
// Thread-safety: start/stop from the owning thread; wake() from any thread. The ClockSource must
// outlive the loop and be safe to call from its thread.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "scheduler/common/clock.hpp"
#include "scheduler/domain/schedule_ops.hpp"
#include "scheduler/store/db.hpp"

namespace ctflow::engine {

struct MonitorLoopOptions {
  std::string database_url;
  Millis interval{30'000};
  Millis debounce{1'000};
  std::function<void()> on_created;  // after a check that created a run (wake the engine)
};

struct MonitorLoopStats {  // read with relaxed loads
  std::atomic<int64_t> passes{0}, checks{0}, runs_created{0}, contended{0}, errors{0};
};

class MonitorLoop {
 public:
  MonitorLoop(MonitorLoopOptions opt, const ClockSource& clock);
  ~MonitorLoop();  // stop()
  void start();
  void stop();
  void wake();
  const MonitorLoopStats& stats() const { return stats_; }

 private:
  void thread_main();
  void listen_main();
  void pass();

  // Constant after construction.
  const MonitorLoopOptions opt_;
  const ClockSource& clock_;

  // Loop thread only.
  std::unique_ptr<store::Connection> db_;
  domain::SpecCache specs_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;     // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  std::atomic<bool> stop_listen_{false};
  MonitorLoopStats stats_;
  std::thread thread_, listener_;
};

}  // namespace ctflow::engine
