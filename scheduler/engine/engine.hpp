#pragma once
// The engine: one thread per server that runs scheduler passes over the state in PostgreSQL.
// A pass (Core::pass, pass.cpp) is
//   load (executor events -> transitions, due timers) -> plan -> apply in one transaction
//   (results, finishes, readiness, cancellations, adoption, claims) -> commit -> start what it
//   dispatched.
// The fast path (fast_path.hpp, switchable off as a whole) makes a chain's step cheaper: it
// dispatches children in the finishing statement itself, commits a pass of plain finishes on
// its own, starts children before that commit, and lets the executor run a chain ahead.
// What the engine keeps in memory is immutable or re-derived from the database on adoption.
// Wake-ups: wake() from this process, LISTEN ctflow_wake from other servers, executor events,
// and a slow sweep. The engine knows executors only through exec::Executor.
//
// Thread-safety: start/stop from the owning thread; wake() and stats() from any thread.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "scheduler/common/time_util.hpp"
#include "scheduler/executor/executor.hpp"

namespace ctflow::engine {

struct EngineOptions {
  std::string database_url;
  std::string server_id;  // unique per server process
  std::string host;       // this machine's name
  std::string data_dir;   // attempts/ and artifacts/ live below
  std::string task_path;  // PATH given to tasks (the ctflow binaries' folder first)
  int max_parallel = 16;  // attempts running at once on this server
  // Attempts dispatched beyond max_parallel, waiting in the executor for a running one to end
  // (ChainAcceleration::limit): a slot then never waits for the statement that fills it.
  int dispatch_ahead = 16;
  Millis lease{15'000};         // leases are renewed every lease/3
  Millis sweep{5'000};          // safety-net pass interval
  Millis cancel_grace{5'000};   // SIGTERM -> SIGKILL
  Millis started_debounce{20};  // coalesce "started" events into the next pass
  // With more than one attempt running, a woken engine waits this long before its pass so that
  // exits close together share one statement and commit (make bench-sched: the fan-out's
  // statements per task fell by about a third at 1 ms; 2.5 ms measured 0.90x, 1.31x and 1.02x
  // of 1 ms in three paired A/Bs of the fan-out: kept at 1 ms). 0: never.
  std::chrono::microseconds batch_wait{1000};
  // The fast path (direct dispatch of children and known ready tasks in the finishing
  // statement, early starts, armed chains, segments, the autocommit quick pass). Off: every
  // pass is load -> one transaction (finishes, readiness, claim) -> commit -> start; the
  // outcome (rows of runs, task_runs, task_attempts) is the same, only slower. Off also turns
  // off start_early and arm_depth.
  bool fast_path = true;
  // Fast path: start a finishing task's children before the statement that dispatches them
  // commits (FastPath::start_early). Off: after the commit, as every other dispatch.
  bool start_early = true;
  // With start_early: how many steps of a chain below a running task the executor may start by
  // itself (ChainAcceleration::arm; arm.cpp), each when the one above exits 0 without outputs,
  // before this engine has recorded anything; FastPath::kFiredDepthFactor times as many in a
  // run whose armed children fire (its chain runs by itself). 0: none (only start_early).
  int arm_depth = 8;
  // When the only news are exits that started what was armed on them, how long the engine lets
  // more of them come before recording them in one statement; any other event ends the wait.
  // make bench-sched: a 1000-step chain takes ~200 statements instead of ~700, in the same
  // wall time (paired, 12 pairs: 0.985 of no wait). 0: record at once.
  Millis fired_wait{6};
  // Test-only (tests/integration/test_crash.cpp): SIGKILL this process right after the Nth
  // early start, before the statement that would dispatch it commits. 0: never.
  int crash_after_early_starts = 0;
  // Test-only: sleep this long before each pass, so that a chain run ahead by the supervisor
  // has several steps ended by the time the engine records them (FastPath::build_segment).
  Millis pass_delay{0};
  // Test-only: ignore NOTIFY ctflow_models, so that an early start gets stale deployments.
  bool ignore_models_notify = false;
  // Latency observations for /metrics, on the engine thread: ("claim", seconds of one claim
  // statement) and ("dispatch", seconds from the start of the pass that claimed a task to its
  // process being started). Must not block. Empty: none.
  std::function<void(std::string_view phase, double seconds)> observe;
};

struct EngineStats {  // for /metrics; read with relaxed loads
  std::atomic<int64_t> passes{0}, claimed{0}, finished{0}, adopted{0};
  std::atomic<int64_t> claim_us_total{0}, dispatch_us_total{0};
  std::atomic<int> active{0};
};

class Core;

class Engine {
 public:
  // `executor` must outlive the engine.
  Engine(EngineOptions opt, exec::Executor& executor);
  ~Engine();  // stop()
  void start();
  void stop();  // finishes the current pass; running tasks keep running under the executor
  void wake();
  const EngineStats& stats() const;

 private:
  std::unique_ptr<Core> core_;
};

}  // namespace ctflow::engine
