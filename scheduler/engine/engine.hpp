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
#include <unordered_map>

#include "scheduler/common/time_util.hpp"
#include "scheduler/engine/plan.hpp"
#include "scheduler/executor/executor.hpp"
#include "scheduler/spec/spec.hpp"
#include "scheduler/store/db.hpp"
#include "scheduler/store/records.hpp"

namespace ctflow::engine {

struct EngineOptions {
  std::string database_url;
  std::string server_id;  // unique per server process
  std::string host;       // this machine's name
  std::string data_dir;   // attempts/ and artifacts/ live below
  std::string task_path;  // PATH given to tasks (the ctflow binaries' folder first)
  int max_parallel = 16;  // attempts running at once on this server
  // Attempts dispatched beyond max_parallel, waiting in the executor for a running one to end
  // (Executor::limit): a slot then never waits for the statement that fills it.
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
  // Start a finishing task's children before the statement that dispatches them commits
  // (start_early in direct.cpp). Off: after the commit, as every other dispatch.
  bool start_early = true;
  // With start_early: how many steps of a chain below a running task the executor may start by
  // itself (Executor::arm; arm.cpp), each when the one above exits 0 without outputs, before
  // this engine has recorded anything; kFiredDepthFactor times as many in a run whose armed
  // children fire (its chain runs by itself). 0: none (only start_early).
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
  // has several steps ended by the time the engine records them (tests of build_segment).
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

class Engine {
 public:
  Engine(EngineOptions opt, exec::Executor& executor);
  ~Engine();
  void start();
  void stop();  // finishes the current pass; running tasks keep running under the supervisor
  void wake();
  const EngineStats& stats() const { return stats_; }

 private:
  struct RunCtx {  // what templates and the inputs file need of a run (immutable)
    int64_t version_id = 0;
    boost::json::object params;
    std::string pipeline, digest, logical_date, data_interval_start, data_interval_end;
  };
  struct Active {  // an attempt this server started or adopted
    int64_t task_run_id = 0, run_id = 0, attempt_id = 0, version_id = 0;
    int attempt = 1, max_attempts = 1, spec_index = 0;
    std::string name;
    std::optional<std::chrono::steady_clock::time_point> deadline;
    std::optional<Millis> timeout;  // the deadline is set when its process starts
    bool timed_out = false, cancelled = false;
    std::optional<TimePoint> started_at;
    int64_t metrics_offset = 0;
    bool has_input_artifacts = true;    // record input uses at the end (unknown when adopted)
    bool maybe_trial = true;            // an hpo trial's attempt (unknown when adopted)
    std::shared_ptr<const RunCtx> run;  // null when adopted
    std::string redo;                   // stopped to be dispatched again (AttemptOutcome::redo)
    bool arm_tried = false;             // arm_ahead found nothing to arm below it
  };
  struct Prepared {  // a claimed task to start after commit
    exec::SpawnRequest req;
    Active active;
    bool started = false;        // started before the commit (start_early, or armed)
    bool done = false;           // recorded as ended by the same statement (build_segment)
    boost::json::object models;  // the deployments its inputs file names
  };
  struct Command {                       // a task's process before its attempt is known
    std::vector<std::string> argv, env;  // env: without the attempt's number and paths
    boost::json::object inputs;          // the inputs file, without "tasks" and "models"
    std::string tasks_json;              // its "tasks": the ancestors' outputs, as JSON text
    std::vector<std::string> input_digests;
    std::string command_hash;  // argv, env and secret digests (cache keys)
  };
  // A task prepared before it is dispatched: a child of a finishing task (store::DirectDispatch)
  // or a ready task this engine saw become ready (task_run_id set; store::ReadyDispatch).
  struct DirectPlan {
    int64_t task_run_id = 0;
    int64_t run_id = 0, version_id = 0;
    int spec_index = 0;
    std::string name;
    Command cmd;
    std::optional<Millis> timeout;
    std::shared_ptr<const RunCtx> run;
    std::string parent_key;     // a child: the finishing attempt that readies it
    bool parents_done = false;  // a child: every parent succeeded, as far as this engine knows
    int early = -1;             // started early: its index in pass()'s `early`
    std::optional<store::DirectDispatch::Done> done;  // ended already (build_segment)
  };
  using SteadyTime = std::chrono::steady_clock::time_point;

  void thread_main();
  void listen_main();
  // store::refresh_stats on its own connection, once a second (only eightfold growth while
  // tasks run) and when the engine goes idle.
  void stats_main();
  void pass();
  bool connect_db();
  SteadyTime next_wake_time() const;
  const spec::Pipeline* pipeline(store::Tx& tx, int64_t version_id);
  // Turns pending executor events into transitions; reads result files (no database).
  // Appends to held_started_, fired_now_ and deferred_ (the pass clears them first).
  void process_events(const std::vector<exec::ExecEvent>& events,
                      std::vector<store::Started>& started, std::vector<store::FinishOp>& finishes,
                      std::vector<store::AttemptResult>& results,
                      std::vector<size_t>& result_finish, std::vector<int64_t>& failed,
                      std::vector<std::string>& finished_keys,
                      std::map<int64_t, std::map<int, store::UpstreamInfo>>& fresh);
  // `trials`: whether any of `finishes` may be an hpo trial (its study then takes a step).
  // `direct`: children prepared for direct dispatch; those dispatched are appended to `to_spawn`.
  // Returns whether ready tasks may be left for a claim, and the task runs that changed.
  struct Applied {
    bool ready_left = true;
    std::vector<int64_t> changed;
    size_t ready_sent = 0, ready_dispatched = 0;
  };
  // Dispatched plans are moved from `direct` into `to_spawn`.
  Applied apply_finishes(store::Tx& tx, std::vector<store::FinishOp>& finishes,
                         std::vector<int64_t>& failed, std::vector<int64_t>& skipped,
                         bool trials = true, std::vector<DirectPlan>* direct = nullptr,
                         std::vector<Prepared>* to_spawn = nullptr,
                         std::pair<int, int64_t> max_key = {0, 0},
                         std::vector<Prepared>* early = nullptr);
  // direct.cpp: the DAG of a version; the children of a finished task that can be dispatched in
  // its finishing statement; a dispatched child's process request.
  const Graph& graph(int64_t version_id, const spec::Pipeline& p);
  // `finished`: this pass's succeeded tasks of the parent's run by spec index; `room` counts down.
  void plan_direct(const Active& parent, const std::map<int, store::UpstreamInfo>& finished,
                   int& room, std::vector<DirectPlan>& out);
  std::optional<DirectPlan> plan_task(int64_t run_id, const std::shared_ptr<const RunCtx>& run,
                                      int64_t version_id, int index,
                                      const std::map<int, store::UpstreamInfo>* extra);
  // Moves up to `room` known ready tasks, first in claim order, into `out`.
  void take_known_ready(int& room, std::vector<DirectPlan>& out, std::pair<int, int64_t>& max_key);
  // Prepares the tasks the last finishes made ready (became_ready_) for a later dispatch by id.
  void learn_ready(const std::set<int64_t>& dispatched);
  store::DirectArgs direct_args(const std::vector<DirectPlan>& plans) const;
  // Starts the first attempts of the children in `direct` before the statement that dispatches
  // them commits, so that the process runs while the database writes and flushes (a chain's
  // step then costs the longer of the two, not their sum). Safe because such a child can only
  // be dispatched by the commit of its parent's finish, and whoever dispatches its first attempt
  // later takes the started process over (Executor::note_early_start); the statement dispatches
  // it whenever that finish readies it (store::DirectDispatch::pre). Needs the current
  // deployments (`models_`, for the inputs file) and the children's task run ids.
  void start_early(std::vector<DirectPlan>& direct, std::vector<Prepared>& early);
  int64_t task_id(int64_t run_id, int spec_index);
  // Asks the executor to make the folders of the first attempts of a task's first children
  // while the task runs (Executor::prepare).
  void prepare_children(int64_t run_id, int64_t version_id, int spec_index);
  static constexpr size_t kPrepareChildren = 2;
  // arm.cpp. A child armed on a running (or armed) attempt: started by the executor when that
  // one succeeds without outputs, then dispatched by the statement that finishes it, as a
  // child started early.
  struct Armed {
    std::string parent;     // the attempt it is armed on
    DirectPlan plan;        // for the statement (cmd.argv)
    Prepared prep;          // its process (`started`)
    bool fired = false;     // its parent's exit said it started
    bool disarmed = false;  // the deployments changed: dropped unless it fired already
  };
  // Arms, below every running attempt, the chain of single children down to arm_depth steps.
  void arm_ahead();
  std::optional<DirectPlan> plan_armed(const Active& root, int index,
                                       const std::map<int, store::UpstreamInfo>& assumed);
  // Children that this pass's exits started (fired_now_) into `direct` and `early`.
  void take_fired(int& room, std::vector<DirectPlan>& direct, std::vector<Prepared>& early,
                  size_t from = 0);
  // A step of a chain that the executor ran ahead: a fired child that ended well before the
  // statement that dispatches it. build_segment marks such children in `direct` (`done`: the
  // statement records them dispatched and succeeded at once, store::DirectDispatch::Done),
  // follows each to the child it fired in turn, and puts their Active records in active_ (the
  // caller erases those the statement did not record).
  struct Step {
    std::string key;
    store::FinishOp finish;
    std::map<int64_t, std::map<int, store::UpstreamInfo>> fresh;
  };
  void build_segment(std::vector<DirectPlan>& direct, std::vector<Prepared>& early,
                     std::vector<Step>& steps);
  static constexpr size_t kMaxSegment = 256;  // steps per statement
  // In a run whose armed children fire (chain_runs_), arm_ahead arms this many times arm_depth:
  // its chain runs without outputs, and the engine records it in batches
  // (EngineOptions::fired_wait) while the executor must not run out of armed steps (make
  // bench-sched, paired: 128 deep 0.89 of 64, 64 deep 0.89 of 32).
  static constexpr int kFiredDepthFactor = 16;
  // Forgets an armed child and what is armed below it (the executor dropped them, or will).
  void drop_armed(const std::string& key);
  // Forgets one armed child, leaving what is armed below it (its dispatch committed).
  void unlink_armed(const std::string& key);
  // Stops a process started before any record of it; its folder is moved aside once it ended
  // (move_aside, at its exit event) so that a later start of that attempt is a fresh one.
  void kill_unrecorded(const std::string& key);
  void move_aside(const std::string& key);
  void disarm_all();  // the deployments changed
  Prepared finish_direct(DirectPlan plan, const store::Dispatched& d,
                         const boost::json::object& models);
  // command.cpp, shared by prepare() and plan_direct(): the ancestors' outputs (false when one
  // is not cached and `tx` is null) as the inputs file's "tasks" (JSON text), and in `ctx`
  // when `reads` (the task's templates or condition may read them); the command with its
  // environment (an error names a missing secret).
  bool gather_upstream(store::Tx* tx, int64_t run_id, const Graph& g, int index,
                       const std::map<int, store::UpstreamInfo>* extra, bool reads,
                       spec::TemplateContext& ctx, std::string& tasks_json,
                       std::vector<std::string>& input_digests);
  std::optional<std::string> build_command(const DispatchPlan& plan, int64_t run_id,
                                           const std::string& name, const RunCtx& run,
                                           std::string tasks_json, Command& out);
  // The process request and the Active record of attempt `a` (its key, paths, deadline).
  Prepared make_prepared(Active a, std::optional<Millis> timeout, Command cmd,
                         const boost::json::object& models);
  // Slots for new attempts: max_parallel less active_, where the `ending` attempts this pass
  // finishes still are until after its commit (they are free for what it dispatches).
  int free_slots(size_t ending) const;
  // Tells the executor how many of its own attempts may run (Executor::limit): max_parallel less
  // the adopted ones still running, with dispatch_ahead; no limit without.
  void update_limit();
  // Claims ready tasks into free_slots(ending) less what to_spawn already holds.
  void claim_and_dispatch(store::Tx& tx, std::vector<Prepared>& to_spawn, size_t ending,
                          bool& claimed_full);
  // `dispatching`: what this pass dispatched and will start after its commit (not orphans).
  void adopt(store::Tx& tx, std::vector<std::pair<std::string, Active>>& adopted,
             const std::vector<Prepared>& dispatching);
  void after_commit(SteadyTime pass_start, const std::vector<std::string>& finished_keys,
                    const std::map<int64_t, std::map<int, store::UpstreamInfo>>& fresh,
                    const std::vector<int64_t>& changed,
                    const std::vector<store::FinishOp>& finishes, std::vector<Prepared>& to_spawn);
  void tail_metrics(store::Tx& tx, std::vector<std::pair<std::string, int64_t>>& offsets);
  std::string binary_digest(const std::string& exe);
  std::vector<std::string> dead_owners(store::Tx& tx);
  // A claimed task: true when it is to run (`out`, `op`); false when `finish` says how it ended
  // without a process (cached, skipped, failed) or it became a study (finish.state empty).
  bool prepare(store::Tx& tx, const store::ClaimedTask& c, const spec::Pipeline& p, Prepared& out,
               store::DispatchOp& op, store::FinishOp& finish, const boost::json::object& models);
  std::shared_ptr<const RunCtx> run_context(const store::ClaimedTask& c);

  // Constant after construction.
  const EngineOptions opt_;
  exec::Executor& executor_;

  // Engine thread only.
  std::unique_ptr<store::Connection> db_;
  std::map<int64_t, std::unique_ptr<spec::Pipeline>> specs_;  // immutable versions
  std::map<int64_t, Graph> graphs_;                           // their DAGs
  std::map<int64_t, std::shared_ptr<const RunCtx>> run_ctx_;  // runs this engine claimed in
  static constexpr size_t kMaxKnownReady = 4096;
  // Ready tasks prepared here, in claim order (priority, task run id), and each one's priority
  // by task run id (to drop one the claim took). Taken from the front: no pass walks them all.
  std::map<std::pair<int, int64_t>, DirectPlan> known_ready_;
  std::unordered_map<int64_t, int> known_priority_;
  void forget_known_ready(int64_t task_run_id);
  std::vector<store::BecameReady> became_ready_;  // from this pass's finishes, until the commit
  // The production deployments as of the last dispatch (start_early's inputs files); dropped
  // when a deployment changes (NOTIFY ctflow_models, from any server or the API).
  std::optional<boost::json::object> models_;
  std::map<std::string, Armed> armed_;                     // by the armed child's key
  std::unordered_map<std::string, std::string> armed_on_;  // parent key -> child key
  std::vector<std::string> fired_now_;     // this pass: armed children its exits started
  std::vector<exec::ExecEvent> deferred_;  // events of armed children not dispatched yet
  std::set<std::string> discard_;          // killed before any record (kill_unrecorded)
  int64_t discarded_ = 0;                  // folders moved aside so far
  std::optional<int> limit_sent_;          // the last Executor::limit
  std::atomic<bool> models_changed_{true};
  std::unordered_map<int64_t, std::vector<int64_t>> task_ids_;  // run -> ids by spec index
  int early_starts_ = 0;
  bool unknown_ready_ = false;            // a task became ready that known_ready_ does not hold
  std::map<std::string, Active> active_;  // key "<task_run_id>-<attempt>"
  std::map<std::string, std::pair<std::string, std::string>>
      binary_digests_;                           // exe -> (stamp, digest)
  std::vector<exec::ExecEvent> pending_events_;  // drained, not yet committed
  std::vector<exec::ExecEvent> held_started_;    // starts younger than started_debounce
  std::optional<SteadyTime> held_until_;         // when the held starts are looked at again
  struct Upstream {  // a final task's outputs, as read, and as its entry in an inputs file
    store::UpstreamInfo info;
    std::string entry;  // "NAME":{"outputs":...,"artifacts":...}; built at its first use
  };
  std::map<std::pair<int64_t, int>, Upstream> upstream_cache_;  // final tasks only
  // Runs whose last armed child to end or start fired: their chains run by themselves.
  std::set<int64_t> chain_runs_;
  SteadyTime next_sweep_{}, next_renew_{}, next_metrics_{};
  std::optional<SteadyTime> next_ready_;         // a retry's not_before
  std::optional<SteadyTime> next_run_deadline_;  // the earliest run timeout
  bool adopt_now_ = true;
  bool pools_exist_ = true;  // refreshed every sweep

  std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;            // guarded by mu_
  bool started_pending_ = false;  // guarded by mu_
  bool fired_pending_ = false;    // an exit that fired armed children (exec::Wake::Fired); mu_
  bool fired_wait_ok_ = false;    // engine thread: set at the end of pass(), read before the next
  bool check_runs_ = true;        // cancellations/queued runs to look at; guarded by mu_
  bool stopping_ = false;         // guarded by mu_
  std::atomic<bool> stop_listen_{false};

  EngineStats stats_;
  std::thread thread_, listener_, stats_thread_;
  std::condition_variable cv_stats_;  // with mu_: wakes stats_main to stop or when idle
  bool went_idle_ = false;            // guarded by mu_: the engine has no task running now
  std::atomic<bool> busy_{false};     // tasks running (the engine thread's last pass)
};

}  // namespace ctflow::engine
