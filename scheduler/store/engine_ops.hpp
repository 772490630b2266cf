#pragma once
// The engine's reads and writes, each one statement (or a few) so that a scheduler pass is a
// handful of round trips and one commit. Every function takes a Tx& and never commits it.
// Guarded updates: transitions apply only from the expected state and attempt, so a stale actor
// (a replica whose lease expired) changes nothing; functions return what they actually changed.
#include <string>
#include <vector>

#include "scheduler/common/time_util.hpp"
#include "scheduler/store/db.hpp"
#include "scheduler/store/records.hpp"

namespace ctflow::store {

// Claims up to `limit` ready tasks of running, non-cancelling runs, ORDER BY priority, id, with
// FOR UPDATE SKIP LOCKED; tasks in a pool are claimed only while the pool has free slots (the
// pool row is locked for the count). Sets state 'dispatched', attempt+1, the lease.
std::vector<ClaimedTask> claim_ready(Tx& tx, const std::string& owner, int limit, Millis lease,
                                     bool with_pools);
// True when any pool is declared (claims then check pool slots).
bool pools_exist(Tx& tx);
// ANALYZEs the engine's hot tables that grew to over `factor` times the rows the planner last
// counted, plus 1000 (autovacuum looks once a minute; a burst of runs in between left the
// planner joining thousands of rows by nested loops on its "empty table" statistics: make
// bench-api). Not on every change: that analysed task_runs, task_attempts and events about
// twice a 1000-task run, ~65 ms of the database's CPU, once right before the run's first task
// (make bench-sched). Returns the tables analysed.
std::vector<std::string> refresh_stats(Connection& c, int factor = 2);
// For the engine's session: plans by index lookups and nested loops only (seq scans and hash or
// merge joins cost "infinity", so they are used only where nothing else answers). Each of the
// engine's statements touches a handful of rows by key; on statistics that lag a burst, the
// planner otherwise hash-joined whole tables per claimed task (23 ms per claim, make bench-api).
void prefer_index_plans(Connection& c);

// Outputs and output artifacts of the tasks of `run_id` with the given spec indices.
std::vector<std::pair<int, UpstreamInfo>> load_upstream(Tx& tx, int64_t run_id,
                                                        const std::vector<int>& spec_indices);

// The task run ids of a run by spec index (0 where a spec index has no task run).
std::vector<int64_t> task_ids(Tx& tx, int64_t run_id);

// Creates one task_attempts row per op (state 'dispatched') and stores argv, cache key/reason and
// the attempt's deadline on the task. Returns the attempt ids in the order of `ops`.
std::vector<int64_t> start_attempts(Tx& tx, const std::vector<DispatchOp>& ops,
                                    const std::string& owner, const std::string& ref_prefix);

void mark_running(Tx& tx, const std::vector<Started>& started);

// Applies finish/retry transitions; decrements the children of succeeded/cached tasks and marks
// those at zero ready (or dispatches them directly, see DirectDispatch); bumps run counters and
// finishes runs whose tasks are all final. One statement, so that a finish in autocommit is one
// round trip. Emits events.
FinishResult finish_tasks(Tx& tx, const std::vector<FinishOp>& ops,
                          const DirectArgs* direct = nullptr);

// Marks every pending descendant of `roots` as `state` (upstream_failed or skipped), counts them
// as done, and finishes runs that completed.
void propagate(Tx& tx, const std::vector<int64_t>& roots, const std::string& state);

// Stores artifacts (already in the content-addressed store), their uses, metrics and registry
// operations of finished attempts. Registry errors are returned as messages (the task then
// fails); the rest is applied.
std::vector<std::string> record_results(Tx& tx, const std::vector<AttemptResult>& results);

// Appends metric points of a running task (tailing its metrics file).
void insert_metrics(Tx& tx, int64_t run_id, int64_t task_run_id,
                    const std::vector<MetricPoint>& points, int64_t attempt_id, int64_t new_offset);

// queued -> running for runs whose pipeline has room under its concurrency limit (one advisory
// lock per pipeline serialises replicas); marks their root tasks ready. Returns the run ids.
std::vector<int64_t> activate_queued_runs(Tx& tx);

// Runs with cancel_requested or a passed deadline that are not finished: pending/ready tasks
// become cancelled (counted done); returns the active attempts that must be killed.
struct CancelWork {
  std::vector<ActiveAttempt> to_kill;
  std::vector<int64_t> runs;
};
CancelWork cancel_requested_runs(Tx& tx);

// Renews the leases of every active task owned by `owner`; records liveness in `servers`.
void renew_leases(Tx& tx, const std::string& owner, const std::string& host, int pid, Millis lease);

// Takes over active tasks whose lease expired or whose owner is in `dead_owners`; returns them.
// Also returns the active tasks `owner` holds that are not in `own_known` (the engine's running
// attempts): a dispatch whose commit succeeded while its acknowledgement was lost (the engine
// retried the pass) is then adopted like any other instead of holding its lease forever.
std::vector<ActiveAttempt> adopt_expired(Tx& tx, const std::string& owner, Millis lease,
                                         const std::vector<std::string>& dead_owners, int limit,
                                         const std::vector<int64_t>& own_known = {});

struct ServerRow {
  std::string id, host;
  int pid;
  bool stale = false;  // its heartbeat (servers.seen_at) is older than the silence allowed
};
// Replicas that may be dead: those on `host` (the caller can check their pid) and those on any
// host whose heartbeat is older than `silence` (stale). Heartbeats are written with leases.
std::vector<ServerRow> suspect_servers(Tx& tx, const std::string& host, Millis silence);
void forget_server(Tx& tx, const std::string& id);

// Earliest not_before of ready tasks in the future, if any (the engine sleeps until then).
std::optional<TimePoint> next_ready_time(Tx& tx);
// Earliest deadline (run_timeout) of a running run not yet cancelling.
std::optional<TimePoint> next_run_deadline(Tx& tx);

// Pool slot counts declared by pipelines (upserted when a pipeline version is stored).
void upsert_pools(Tx& tx, const std::vector<std::pair<std::string, int>>& pools);

// Most recent succeeded/cached task run with this cache key, for cache hits.
struct CacheHit {
  int64_t task_run_id, run_id;
  boost::json::object outputs;
};
std::optional<CacheHit> find_cache_hit(Tx& tx, const std::string& cache_key);
// Components of the last cache key of the same pipeline's task, to explain a miss.
std::optional<boost::json::object> last_cache_components(Tx& tx, int64_t pipeline_version_id,
                                                         const std::string& task_name);
// Copies output artifact uses of `from` to `to` (a cache hit reuses the artifacts).
void copy_artifact_uses(Tx& tx, int64_t from_task_run, int64_t to_task_run);

// Inserts events and a NOTIFY on channel ctflow_events (delivered at commit).
void emit_event(Tx& tx, const std::string& kind, std::optional<int64_t> run_id,
                std::optional<int64_t> task_run_id, const boost::json::object& payload);
void notify(Tx& tx, const std::string& channel, const std::string& payload);

}  // namespace ctflow::store
