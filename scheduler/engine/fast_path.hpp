#pragma once
// The fast path: what makes a chain's step cost one round trip instead of a finish, a claim and
// two commits, and what lets the executor run a chain ahead of the engine. Switchable off as a
// whole (EngineOptions::fast_path, `ctflow server --no-fast-path`); with it off, the engine
// reaches the same rows by the plain pass (Core::pass), only slower. Its parts:
//  - direct dispatch (direct.cpp): the children a finish makes ready, and ready tasks this
//    engine already prepared ("known ready"), dispatched by the finishing statement itself
//    (store::DirectDispatch, store::ReadyDispatch), when their command needs nothing from the
//    database (no cache lookup, no study, no pool, every ancestor's outputs known here);
//  - the quick pass (fast_path.cpp): a pass of plain finishes commits on its own, without a
//    transaction; a claim follows only when a ready task may be unknown here;
//  - early starts (direct.cpp): a child's process starts before the statement that dispatches
//    it commits (ChainAcceleration::note_early_start makes that crash-safe);
//  - armed chains and segments (arm.cpp, segment.cpp): the chain below a running task is handed
//    to the executor (ChainAcceleration::arm), which starts each step when the one above exits
//    0 without outputs; the engine records those steps later, a segment per statement.
// Nothing runs that the DAG would not run: a child starts early only on its parent's success as
// the engine judges it, with the inputs the engine would write; one not dispatched after all is
// killed and its folder moved aside.
//
// Thread-safety: engine thread only. Owned by Core, which it reads and writes through a
// non-owning reference (the pass's shared state: active attempts, specs, upstream outputs).
#include <set>
#include <unordered_map>

#include "scheduler/engine/records.hpp"

namespace ctflow::engine {

class Core;

class FastPath {
 public:
  explicit FastPath(Core& core) : core_(core) {}

  // --- In the pass, in order (pass.cpp). ---
  // The deployments changed: forget them and disarm what was armed with the old ones.
  void models_changed();
  void begin_pass();  // forgets the last pass's fired children and deferred events
  // An event of an attempt the engine does not hold: true when it is kept for later (an armed
  // child fired but not dispatched yet); otherwise stops what it fired and moves aside a
  // discarded folder.
  bool unknown_event(const exec::ExecEvent& ev);
  // An attempt's exit (events.cpp): what was armed on it starts (fired) when it succeeded
  // `plain`ly (outputs its children need, nothing for the store), else it is dropped.
  void exited(const exec::ExecEvent& ev, const Active& a, bool plain);
  // Tasks to dispatch in the finishing statement (p.direct): fired children, known ready tasks,
  // else the finishing tasks' children. Not when a task failed: its descendants are marked in a
  // transaction whose claim dispatches what is left.
  void plan(Pass& p);
  // A pass of finishes only (no results, failures, trials or due work): commits it on its own
  // with early starts and segments. Returns whether a claim must follow (p is then cleared for
  // it).
  bool quick_pass(Pass& p);
  // The finishing statement's dispatch arguments, and what it dispatched (finish.cpp).
  store::DirectArgs statement_args(const Pass& p) const;
  void dispatched(const store::FinishResult& res, Pass& p, Applied& out);
  void saw_models(const boost::json::object& models) { models_ = models; }
  void begin_statement() { became_ready_.clear(); }  // a transaction (re)starts
  void became_ready(const std::vector<store::BecameReady>& b);
  // After the commit (finish.cpp): unlinks armed children it dispatched, learns the ready
  // tasks it did not, re-queues deferred events, and arms below the running attempts.
  void before_starts(const Pass& p);
  void after_starts();
  // After a transaction's commit: whether a ready task may be unknown here; a sweep forgets.
  void claimed(bool full, bool sweep);
  // Whether an exit that fires may wait for more (EngineOptions::fired_wait): no running task
  // with something armed on it has other children.
  bool only_chains();

  static constexpr size_t kMaxKnownReady = 4096;
  static constexpr size_t kMaxSegment = 256;  // steps per statement
  static constexpr size_t kPrepareChildren = 2;
  // In a run whose armed children fire (chain_runs_), arm_ahead arms this many times
  // arm_depth: its chain runs without outputs, and the engine records it in batches
  // (EngineOptions::fired_wait) while the executor must not run out of armed steps (make
  // bench-sched, paired: 128 deep 0.89 of 64, 64 deep 0.89 of 32).
  static constexpr int kFiredDepthFactor = 16;

 private:
  friend struct FastPathTest;  // tests/unit/engine/test_fast_path.cpp
  // A child armed on a running (or armed) attempt: started by the executor when that one
  // succeeds without outputs, then dispatched by the statement that finishes it.
  struct Armed {
    std::string parent;     // the attempt it is armed on
    DirectPlan plan;        // for the statement (cmd.argv)
    Prepared prep;          // its process (`started`)
    bool fired = false;     // its parent's exit said it started
    bool disarmed = false;  // the deployments changed: dropped unless it fired already
  };
  // A step of a chain that the executor ran ahead (segment.cpp).
  struct Step {
    std::string key;
    store::FinishOp finish;
    Fresh fresh;
  };

  // direct.cpp.
  void plan_direct(const Active& parent, const std::map<int, store::UpstreamInfo>& finished,
                   int& room, std::vector<DirectPlan>& out);
  std::optional<DirectPlan> plan_task(int64_t run_id, const std::shared_ptr<const RunCtx>& run,
                                      int64_t version_id, int index,
                                      const std::map<int, store::UpstreamInfo>* extra);
  void take_known_ready(int& room, std::vector<DirectPlan>& out, std::pair<int, int64_t>& max_key);
  void forget_known_ready(int64_t task_run_id);
  void learn_ready(const std::set<int64_t>& dispatched);
  void start_early(Pass& p);
  void prepare_children(int64_t run_id, int64_t version_id, int spec_index);
  int64_t task_id(int64_t run_id, int spec_index);
  // Whether every parent of task `child` of run `run_id` succeeded (or is cached): per `extra`
  // (this pass's finishes, or the armed chain above, assumed) or per the upstream cache.
  bool parents_done(int64_t run_id, const Graph& g, int child,
                    const std::map<int, store::UpstreamInfo>* extra);
  Prepared finish_direct(DirectPlan plan, const store::Dispatched& d,
                         const boost::json::object& models);
  // arm.cpp.
  void arm_ahead();
  std::optional<DirectPlan> plan_armed(const Active& root, int index,
                                       const std::map<int, store::UpstreamInfo>& assumed);
  void take_fired(int& room, Pass& p, size_t from = 0);
  void count_early_start();                   // EngineOptions::crash_after_early_starts
  void drop_armed(const std::string& key);    // it and what is armed below it
  void unlink_armed(const std::string& key);  // it only (its dispatch committed)
  void kill_unrecorded(const std::string& key);
  void move_aside(const std::string& key);
  void disarm_all();
  // segment.cpp: marks fired children in p.direct that ended already as `done` (the statement
  // records them dispatched and succeeded at once), following each to the child it fired.
  void build_segment(Pass& p, std::vector<Step>& steps);

  Core& core_;
  // The production deployments as of the last dispatch (inputs files written ahead); dropped
  // when a deployment changes (NOTIFY ctflow_models, from any server or the API).
  std::optional<boost::json::object> models_;
  // Ready tasks prepared here, in claim order (priority, task run id), and each one's priority
  // by task run id (to drop one the claim took). Taken from the front: no pass walks them all.
  std::map<std::pair<int, int64_t>, DirectPlan> known_ready_;
  std::unordered_map<int64_t, int> known_priority_;
  std::vector<store::BecameReady> became_ready_;  // from this pass's finishes, until the commit
  bool unknown_ready_ = false;          // a task became ready that known_ready_ does not hold
  std::map<std::string, Armed> armed_;  // by the armed child's key
  std::unordered_map<std::string, std::string> armed_on_;  // parent key -> child key
  std::vector<std::string> fired_now_;     // this pass: armed children its exits started
  std::vector<exec::ExecEvent> deferred_;  // events of armed children not dispatched yet
  // (run, task with many parents) -> how many of its parents, in graph order, were seen final
  // and succeeded in the upstream cache. A parent never leaves that state, so parents_done
  // resumes there: a join of 50,000 parents checked at each of their finishes costs O(parents)
  // in all, not O(parents^2) (make bench-scale: 73% of the engine's time at 40 tasks/s).
  // Cleared when it grows past kMaxParentsSeen (losing only the shortcut).
  std::map<std::pair<int64_t, int>, size_t> parents_seen_;
  static constexpr size_t kMaxParentsSeen = 100'000;
  static constexpr size_t kFewParents = 8;  // fewer: a plain scan, no entry
  std::vector<std::string> requeued_;       // deferred events looked at again after a commit
  std::set<std::string> discard_;           // killed before any record (kill_unrecorded)
  int64_t discarded_ = 0;                   // folders moved aside so far
  std::set<int64_t> chain_runs_;  // runs whose armed children fire: their chains run alone
  std::unordered_map<int64_t, std::vector<int64_t>> task_ids_;  // run -> ids by spec index
  int early_starts_ = 0;
};

}  // namespace ctflow::engine
