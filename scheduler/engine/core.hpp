#pragma once
// The engine's core (internal to scheduler/engine/): its threads, the pass, and what every pass
// needs whichever path it takes. Files: engine.cpp (threads, wake-ups), pass.cpp (the pass),
// events.cpp (executor events -> transitions), finish.cpp (applying finishes, after the
// commit), claim.cpp (claim -> dispatch), adopt.cpp (other servers' attempts), command.cpp (a
// task's process). The fast path (fast_path.hpp) is a separate object that this one owns.
//
// Thread-safety: the engine thread runs passes and owns everything not marked otherwise;
// members marked GUARDED_BY(mu_) are shared with wake(), the executor's wake-up callback and the
// listener thread.
#include <map>
#include <memory>
#include <thread>

#include "scheduler/common/mutex.hpp"
#include "scheduler/engine/engine.hpp"
#include "scheduler/engine/plan.hpp"
#include "scheduler/engine/records.hpp"
#include "scheduler/spec/spec.hpp"
#include "scheduler/store/db.hpp"

namespace ctflow::engine {

class FastPath;

class Core {
 public:
  Core(EngineOptions opt, exec::Executor& executor);
  ~Core();
  void start();
  void stop();
  void wake();
  const EngineStats& stats() const { return stats_; }

 private:
  friend class FastPath;
  friend struct FastPathTest;  // tests/unit/engine/test_fast_path.cpp

  // engine.cpp: threads.
  void thread_main();
  void listen_main();
  void stats_main();  // store::refresh_stats on its own connection
  bool connect_db();
  SteadyTime next_wake_time() const;

  // pass.cpp: one pass, top to bottom.
  void pass();
  Pass load();                         // timeouts, events -> transitions, what is due
  void apply(store::Tx& tx, Pass& p);  // the pass's transaction
  void committed(Pass& p);             // after its commit

  // events.cpp: executor events -> transitions (reads result files; no database).
  void process_events(const std::vector<exec::ExecEvent>& events, Pass& p);

  // finish.cpp.
  // Applies `f` in one statement (with the fast path's plan of `p`, if any), marks the
  // descendants of failed and skipped tasks, and steps studies when `trials`.
  Applied apply_finishes(store::Tx& tx, Finishes& f, bool trials, Pass* p = nullptr);
  // Forgets what ended, remembers what started, and starts the dispatched processes.
  void after_commit(Pass& p);
  // Slots for new attempts: max_parallel less active_, where the `ending` attempts this pass
  // finishes still are until after its commit (they are free for what it dispatches).
  int free_slots(size_t ending) const;
  // Tells the executor how many of its own attempts may run (ChainAcceleration::limit).
  void update_limit();
  void tail_metrics(store::Tx& tx, Pass& p);

  // claim.cpp: claims ready tasks into the free slots less what p.to_spawn already holds.
  void claim_and_dispatch(store::Tx& tx, Pass& p);
  // A claimed task: true when it is to run (`out`, `op`); false when `finish` says how it ended
  // without a process (cached, skipped, failed) or it became a study (finish.state empty).
  bool prepare_claimed(store::Tx& tx, const store::ClaimedTask& c, const spec::Pipeline& pl,
                       Prepared& out, store::DispatchOp& op, store::FinishOp& finish);

  // adopt.cpp: attempts whose owner's lease expired or died; `p.to_spawn` are not orphans.
  void adopt(store::Tx& tx, Pass& p);
  std::vector<std::string> dead_owners(store::Tx& tx);

  // command.cpp: the ancestors' outputs (false when one is not cached and `tx` is null) as the
  // inputs file's "tasks" (JSON text), and in `ctx` when `reads`; the command with its
  // environment (an error names a missing secret); the process request and Active record.
  bool gather_upstream(store::Tx* tx, int64_t run_id, const Graph& g, int index,
                       const std::map<int, store::UpstreamInfo>* extra, bool reads,
                       spec::TemplateContext& ctx, std::string& tasks_json,
                       std::vector<std::string>& input_digests);
  std::optional<std::string> build_command(const DispatchPlan& plan, int64_t run_id,
                                           const std::string& name, const RunCtx& run,
                                           std::string tasks_json, Command& out);
  Prepared make_prepared(Active a, std::optional<Millis> timeout, Command cmd,
                         const boost::json::object& models);
  std::shared_ptr<const RunCtx> run_context(const store::ClaimedTask& c);
  const spec::Pipeline* pipeline(store::Tx& tx, int64_t version_id);
  const spec::Pipeline* known_pipeline(int64_t version_id) const;
  // Where the attempt runs (its task's executor and k8s settings), for SpawnRequest::placement.
  exec::Placement placement(const Active& a, std::optional<Millis> timeout) const;
  bool runs_locally(int64_t version_id, int spec_index) const;
  const Graph& graph(int64_t version_id, const spec::Pipeline& p);

  // Constant after construction.
  const EngineOptions opt_;
  exec::Executor& executor_;
  exec::ChainAcceleration* const accel_;  // executor_'s, or null (no early starts)
  const std::unique_ptr<FastPath> fast_;  // null with EngineOptions::fast_path off

  // Engine thread only.
  std::unique_ptr<store::Connection> db_;
  std::map<int64_t, std::unique_ptr<spec::Pipeline>> specs_;  // immutable versions
  std::map<int64_t, Graph> graphs_;                           // their DAGs
  std::map<int64_t, std::shared_ptr<const RunCtx>> run_ctx_;  // runs this engine claimed in
  std::map<std::string, Active> active_;                      // by attempt key
  std::vector<exec::ExecEvent> pending_events_;               // drained, not yet committed
  std::vector<exec::ExecEvent> held_started_;  // starts younger than started_debounce
  std::optional<SteadyTime> held_until_;       // when the held starts are looked at again
  struct Upstream {  // a final task's outputs, as read, and as its entry in an inputs file
    store::UpstreamInfo info;
    std::string entry;  // "NAME":{"outputs":...,"artifacts":...}; built at its first use
  };
  std::map<std::pair<int64_t, int>, Upstream> upstream_cache_;  // final tasks only
  std::optional<int> limit_sent_;                               // the last limit sent
  SteadyTime next_sweep_{}, next_renew_{}, next_metrics_{};
  std::optional<SteadyTime> next_ready_;         // a retry's not_before
  std::optional<SteadyTime> next_run_deadline_;  // the earliest run timeout
  bool adopt_now_ = true;
  bool pools_exist_ = true;  // refreshed every sweep

  // Shared with other threads.
  std::atomic<bool> models_changed_{true};  // NOTIFY ctflow_models (listener thread)
  std::atomic<bool> stop_listen_{false};
  std::atomic<bool> busy_{false};  // tasks running (the engine thread's last pass)
  EngineStats stats_;              // atomics
  Mutex mu_;
  CondVar cv_;        // with mu_: wakes the engine thread
  CondVar cv_stats_;  // with mu_: wakes stats_main to stop or when idle
  bool woken_ GUARDED_BY(mu_) = false;
  bool started_pending_ GUARDED_BY(mu_) = false;  // only "started" events since the last pass
  bool fired_pending_ GUARDED_BY(mu_) = false;    // an exit that fired armed children
  bool check_runs_ GUARDED_BY(mu_) = true;        // cancellations/queued runs to look at
  bool stopping_ GUARDED_BY(mu_) = false;
  bool went_idle_ GUARDED_BY(mu_) = false;  // the engine has no task running now
  bool fired_wait_ok_ = false;  // engine thread: set at the end of pass(), read before the next
  std::thread thread_, listener_, stats_thread_;
};

}  // namespace ctflow::engine
