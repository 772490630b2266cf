#pragma once
// Retention: the SQL of `ctflow gc` (the files are deleted by api/gc.cpp, after each commit).
//
// A run is garbage when it is final (succeeded, failed, cancelled), finished before the cutoff,
// has no task still dispatched or running, and nothing that is kept points at it: no model
// version or deployment (by run or by one of its tasks), no monitor's last run, no re-run of it.
// Deleting a run deletes its tasks, edges, attempts, metrics, artifact uses, studies and trials
// (ON DELETE CASCADE) and its events (here). An artifact is garbage when no artifact use and no
// model version's `artifacts` names it any more (deployments point at model versions, which gc
// never deletes).
//
// Each function is one bounded step (`limit` rows) in the caller's transaction, which the caller
// commits: short transactions, so the engine and the API keep going while gc runs. Candidates
// are locked FOR UPDATE SKIP LOCKED, so two servers' gc loops never wait on each other.
#include <cstdint>
#include <string>
#include <vector>

#include "scheduler/store/db.hpp"

namespace ctflow::store {

struct GcCounts {
  int64_t runs = 0, tasks = 0, attempts = 0, events = 0, metrics = 0, artifacts = 0;
  GcCounts& operator+=(const GcCounts& o);
};

// What gc with this cutoff would delete now (the dry run): runs and what goes with them, events
// of no run older than the cutoff, and the artifacts that would be left unreferenced.
GcCounts gc_plan(Tx& tx, int64_t older_than_s);

// One attempt of a deleted run: its folder (logs included) is the caller's to remove.
struct GcAttempt {
  int64_t task_run_id = 0;
  int attempt = 0;
};
struct GcRunBatch {
  std::vector<int64_t> run_ids;  // empty: no garbage run is left (or all are locked)
  std::vector<GcAttempt> attempts;
  GcCounts counts;  // runs, tasks, attempts, events, metrics
};
// Deletes up to `limit` garbage runs (oldest finished first).
GcRunBatch gc_delete_runs(Tx& tx, int64_t older_than_s, int limit);

// Deletes up to `limit` events that belong to no run and are older than the cutoff.
int64_t gc_delete_events(Tx& tx, int64_t older_than_s, int limit);

struct GcArtifact {
  int64_t id = 0;
  std::string digest, path;
};
// Locks up to `limit` unreferenced artifacts with ids above `after_id` (FOR UPDATE: the finish
// statement that would reference one again waits for this transaction).
std::vector<GcArtifact> gc_lock_artifacts(Tx& tx, int64_t after_id, int limit);
void gc_delete_artifacts(Tx& tx, const std::vector<int64_t>& ids);

}  // namespace ctflow::store
