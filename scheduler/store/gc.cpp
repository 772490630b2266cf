#include "scheduler/store/gc.hpp"

#include "scheduler/store/internal.hpp"

namespace ctflow::store {

namespace {

// Garbage runs ($1: the cutoff's age in seconds). Every NOT EXISTS is an index lookup (the
// indexes of sql/0015_retention.sql), and the candidates come from runs_finished.
constexpr const char* kGarbageRuns = R"SQL(
SELECT r.id, r.finished_at FROM runs r
WHERE r.state IN ('succeeded','failed','cancelled')
  AND r.finished_at < now() - make_interval(secs => $1::bigint)
  AND NOT EXISTS (SELECT 1 FROM task_runs t WHERE t.run_id = r.id
                  AND t.state IN ('dispatched','running'))
  AND NOT EXISTS (SELECT 1 FROM model_versions mv WHERE mv.run_id = r.id)
  AND NOT EXISTS (SELECT 1 FROM deployments d WHERE d.run_id = r.id)
  AND NOT EXISTS (SELECT 1 FROM task_runs t JOIN model_versions mv ON mv.task_run_id = t.id
                  WHERE t.run_id = r.id)
  AND NOT EXISTS (SELECT 1 FROM task_runs t JOIN deployments d ON d.task_run_id = t.id
                  WHERE t.run_id = r.id)
  AND NOT EXISTS (SELECT 1 FROM runs n WHERE n.rerun_of = r.id)
  AND NOT EXISTS (SELECT 1 FROM monitors m WHERE m.last_run_id = r.id))SQL";

// The digests a model version names (its `artifacts`: name -> {digest, kind, size, path}).
constexpr const char* kKeptDigests = R"SQL(
SELECT e.value->>'digest' FROM model_versions mv,
  jsonb_each(CASE WHEN jsonb_typeof(mv.artifacts) = 'object' THEN mv.artifacts
                  ELSE '{}'::jsonb END) e)SQL";

}  // namespace

GcCounts& GcCounts::operator+=(const GcCounts& o) {
  runs += o.runs, tasks += o.tasks, attempts += o.attempts, events += o.events,
      metrics += o.metrics, artifacts += o.artifacts;
  return *this;
}

GcCounts gc_plan(Tx& tx, int64_t older_than_s) {
  auto r = W(tx).exec_params(std::string("WITH g AS (") + kGarbageRuns + R"SQL(),
gt AS (SELECT t.id FROM task_runs t WHERE t.run_id IN (SELECT id FROM g)),
kept(digest) AS ()SQL" + kKeptDigests +
                                 R"SQL()
SELECT (SELECT count(*) FROM g), (SELECT count(*) FROM gt),
  (SELECT count(*) FROM task_attempts a WHERE a.task_run_id IN (SELECT id FROM gt)),
  (SELECT count(*) FROM events e WHERE e.run_id IN (SELECT id FROM g))
    + (SELECT count(*) FROM events e WHERE e.run_id IS NULL
       AND e.ts < now() - make_interval(secs => $1::bigint)),
  (SELECT count(*) FROM metrics m WHERE m.run_id IN (SELECT id FROM g)),
  (SELECT count(*) FROM artifacts a
   WHERE NOT EXISTS (SELECT 1 FROM artifact_uses u WHERE u.artifact_id = a.id
                     AND u.task_run_id NOT IN (SELECT id FROM gt))
     AND a.digest NOT IN (SELECT digest FROM kept WHERE digest IS NOT NULL)))SQL",
                             older_than_s);
  GcCounts c;
  c.runs = r[0][0].as<int64_t>();
  c.tasks = r[0][1].as<int64_t>();
  c.attempts = r[0][2].as<int64_t>();
  c.events = r[0][3].as<int64_t>();
  c.metrics = r[0][4].as<int64_t>();
  c.artifacts = r[0][5].as<int64_t>();
  return c;
}

GcRunBatch gc_delete_runs(Tx& tx, int64_t older_than_s, int limit) {
  GcRunBatch b;
  auto picked =
      exec_cached(tx, "gc_pick_runs",
                  std::string(kGarbageRuns) +
                      " ORDER BY r.finished_at, r.id LIMIT $2 FOR UPDATE OF r SKIP LOCKED",
                  older_than_s, limit);
  for (const auto& row : picked) b.run_ids.push_back(row[0].as<int64_t>());
  if (b.run_ids.empty()) return b;
  auto ids = id_array(b.run_ids);
  for (const auto& row : exec_cached(tx, "gc_attempts", R"SQL(
SELECT a.task_run_id, a.attempt FROM task_runs t JOIN task_attempts a ON a.task_run_id = t.id
WHERE t.run_id = ANY($1::bigint[]) ORDER BY a.id)SQL",
                                     ids))
    b.attempts.push_back({row[0].as<int64_t>(), row[1].as<int>()});
  auto counts = exec_cached(tx, "gc_counts", R"SQL(
SELECT (SELECT count(*) FROM task_runs WHERE run_id = ANY($1::bigint[])),
       (SELECT count(*) FROM metrics WHERE run_id = ANY($1::bigint[])))SQL",
                            ids);
  b.counts.runs = static_cast<int64_t>(b.run_ids.size());
  b.counts.attempts = static_cast<int64_t>(b.attempts.size());
  b.counts.tasks = counts[0][0].as<int64_t>();
  b.counts.metrics = counts[0][1].as<int64_t>();
  b.counts.events =
      exec_cached(tx, "gc_run_events", "DELETE FROM events WHERE run_id = ANY($1::bigint[])", ids)
          .affected_rows();
  // Tasks, edges, attempts, metrics, artifact uses, studies and trials go by ON DELETE CASCADE;
  // schedule fires and monitor checks keep their row without the run (ON DELETE SET NULL).
  exec_cached(tx, "gc_runs", "DELETE FROM runs WHERE id = ANY($1::bigint[])", ids);
  return b;
}

int64_t gc_delete_events(Tx& tx, int64_t older_than_s, int limit) {
  return exec_cached(tx, "gc_events", R"SQL(
DELETE FROM events WHERE id IN (
  SELECT id FROM events WHERE run_id IS NULL AND ts < now() - make_interval(secs => $1::bigint)
  ORDER BY id LIMIT $2))SQL",
                     older_than_s, limit)
      .affected_rows();
}

std::vector<GcArtifact> gc_lock_artifacts(Tx& tx, int64_t after_id, int limit) {
  auto r = exec_cached(tx, "gc_artifacts",
                       std::string(R"SQL(
SELECT a.id, a.digest, a.path FROM artifacts a
WHERE a.id > $1 AND NOT EXISTS (SELECT 1 FROM artifact_uses u WHERE u.artifact_id = a.id)
  AND a.digest NOT IN (SELECT k.digest FROM ()SQL") +
                           kKeptDigests + R"SQL() AS k(digest)
                       WHERE k.digest IS NOT NULL)
ORDER BY a.id LIMIT $2 FOR UPDATE OF a SKIP LOCKED)SQL",
                       after_id, limit);
  std::vector<GcArtifact> out;
  for (const auto& row : r) out.push_back({row[0].as<int64_t>(), row[1].c_str(), row[2].c_str()});
  return out;
}

void gc_delete_artifacts(Tx& tx, const std::vector<int64_t>& ids) {
  if (ids.empty()) return;
  exec_cached(tx, "gc_delete_artifacts", "DELETE FROM artifacts WHERE id = ANY($1::bigint[])",
              id_array(ids));
}

}  // namespace ctflow::store
