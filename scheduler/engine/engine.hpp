#pragma once
// The engine: one thread per server that runs scheduler passes. A pass is
//   load (executor events, due timers) -> plan (pure functions in plan.hpp) -> apply (one
//   transaction: results, finishes, readiness, cancellations, claims, dispatches) -> commit once
//   -> start the claimed processes.
// State lives in PostgreSQL; what the engine keeps in memory (its active attempts, parsed specs)
// is either immutable or re-derived from the database on adoption. Wake-ups: wake() from this
// process, LISTEN ctflow_wake from other processes/replicas, executor events, and a slow sweep.
//
// Thread-safety: start/stop from the owning thread; wake() from any thread.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string_view>
#include <thread>

#include "scheduler/common/time_util.hpp"
#include "scheduler/executor/executor.hpp"
#include "scheduler/spec/spec.hpp"
#include "scheduler/store/db.hpp"
#include "scheduler/store/records.hpp"

namespace ctflow::engine {

struct EngineOptions {
  std::string database_url;
  std::string server_id;        // unique per server process
  std::string host;             // this machine's name
  std::string data_dir;         // attempts/ and artifacts/ live below
  std::string task_path;        // PATH given to tasks (the ctflow binaries' folder first)
  int max_parallel = 16;        // attempts running at once on this server
  Millis lease{15'000};         // leases are renewed every lease/3
  Millis sweep{5'000};          // safety-net pass interval
  Millis cancel_grace{5'000};   // SIGTERM -> SIGKILL
  Millis started_debounce{20};  // coalesce "started" events into the next pass
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

class Engine {
 public:
  Engine(EngineOptions opt, exec::Executor& executor);
  ~Engine();
  void start();
  void stop();  // finishes the current pass; running tasks keep running under the supervisor
  void wake();
  const EngineStats& stats() const { return stats_; }

 private:
  struct Active {  // an attempt this server started or adopted
    int64_t task_run_id = 0, run_id = 0, attempt_id = 0, version_id = 0;
    int attempt = 1, max_attempts = 1, spec_index = 0;
    std::string name;
    std::optional<std::chrono::steady_clock::time_point> deadline;
    bool timed_out = false, cancelled = false;
    std::optional<TimePoint> started_at;
    int64_t metrics_offset = 0;
    bool has_input_artifacts = true;  // record input uses at the end (unknown when adopted)
    bool maybe_trial = true;          // an hpo trial's attempt (unknown when adopted)
  };
  struct Prepared {  // a claimed task to start after commit
    exec::SpawnRequest req;
    Active active;
  };
  using SteadyTime = std::chrono::steady_clock::time_point;

  void thread_main();
  void listen_main();
  void pass();
  bool connect_db();
  SteadyTime next_wake_time() const;
  const spec::Pipeline* pipeline(store::Tx& tx, int64_t version_id);
  // Turns pending executor events into transitions; reads result files (no database).
  void process_events(std::vector<store::Started>& started, std::vector<store::FinishOp>& finishes,
                      std::vector<store::AttemptResult>& results,
                      std::vector<size_t>& result_finish, std::vector<int64_t>& failed,
                      std::vector<std::string>& finished_keys);
  // `trials`: whether any of `finishes` may be an hpo trial (its study then takes a step).
  void apply_finishes(store::Tx& tx, std::vector<store::FinishOp>& finishes,
                      std::vector<int64_t>& failed, std::vector<int64_t>& skipped,
                      bool trials = true);
  void claim_and_dispatch(store::Tx& tx, std::vector<Prepared>& to_spawn, bool& claimed_full);
  void adopt(store::Tx& tx, std::vector<std::pair<std::string, Active>>& adopted);
  void tail_metrics(store::Tx& tx, std::vector<std::pair<std::string, int64_t>>& offsets);
  std::string binary_digest(const std::string& exe);
  std::vector<std::string> dead_owners(store::Tx& tx);
  std::optional<std::string> prepare(store::Tx& tx, const store::ClaimedTask& c,
                                     const spec::Pipeline& p, Prepared& out, store::DispatchOp& op,
                                     store::FinishOp& finish, const boost::json::object& models);

  // Constant after construction.
  const EngineOptions opt_;
  exec::Executor& executor_;

  // Engine thread only.
  std::unique_ptr<store::Connection> db_;
  std::map<int64_t, std::unique_ptr<spec::Pipeline>> specs_;  // immutable versions
  std::map<std::string, Active> active_;                      // key "<task_run_id>-<attempt>"
  std::map<std::string, std::pair<std::string, std::string>>
      binary_digests_;                           // exe -> (stamp, digest)
  std::vector<exec::ExecEvent> pending_events_;  // drained, not yet committed
  std::map<std::pair<int64_t, int>, store::UpstreamInfo> upstream_cache_;  // final tasks only
  SteadyTime next_sweep_{}, next_renew_{}, next_metrics_{}, next_stats_{};
  std::optional<SteadyTime> next_ready_;         // a retry's not_before
  std::optional<SteadyTime> next_run_deadline_;  // the earliest run timeout
  bool adopt_now_ = true;
  bool pools_exist_ = true;  // refreshed every sweep

  std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;            // guarded by mu_
  bool started_pending_ = false;  // guarded by mu_
  bool check_runs_ = true;        // cancellations/queued runs to look at; guarded by mu_
  bool stopping_ = false;         // guarded by mu_
  std::atomic<bool> stop_listen_{false};

  EngineStats stats_;
  std::thread thread_, listener_;
};

}  // namespace ctflow::engine
