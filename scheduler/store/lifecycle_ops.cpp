// Engine store operations around the task lifecycle: results and registry, run activation,
// cancellation, leases and adoption, caching. (Claim/finish live in engine_ops.cpp.)
#include "scheduler/common/json_util.hpp"
#include "scheduler/store/engine_ops.hpp"
#include "scheduler/store/internal.hpp"
#include "scheduler/store/registry.hpp"

namespace ctflow::store {

namespace {

ActiveAttempt active_from_row(const pqxx::row& row) {
  ActiveAttempt a;
  a.task_run_id = row["id"].as<int64_t>();
  a.run_id = row["run_id"].as<int64_t>();
  a.attempt = row["attempt"].as<int>();
  a.max_attempts = row["max_attempts"].as<int>();
  a.name = row["name"].c_str();
  a.state = row["state"].c_str();
  a.executor_ref = row["executor_ref"].is_null() ? "" : row["executor_ref"].c_str();
  a.lease_owner = row["lease_owner"].is_null() ? "" : row["lease_owner"].c_str();
  a.pipeline_version_id = row["pipeline_version_id"].as<int64_t>();
  a.spec_index = row["spec_index"].as<int>();
  a.attempt_id = row["attempt_id"].is_null() ? 0 : row["attempt_id"].as<int64_t>();
  a.cancel_requested = row["cancel_requested"].as<bool>();
  a.metrics_offset = row["metrics_offset"].as<int64_t>();
  if (!row["deadline_in_ms"].is_null())
    a.deadline_in_ms = static_cast<int64_t>(row["deadline_in_ms"].as<double>());
  return a;
}

constexpr const char* kActiveColumns = R"SQL(
  t.id, t.run_id, t.attempt, t.max_attempts, t.name, t.state, t.executor_ref, t.lease_owner,
  t.spec_index, r.pipeline_version_id, r.cancel_requested,
  (SELECT max(ta.id) FROM task_attempts ta WHERE ta.task_run_id = t.id AND ta.attempt = t.attempt)
    AS attempt_id,
  coalesce((SELECT max(ta.metrics_offset) FROM task_attempts ta WHERE ta.task_run_id = t.id
            AND ta.attempt = t.attempt), 0) AS metrics_offset,
  extract(epoch FROM t.deadline - now()) * 1000 AS deadline_in_ms
)SQL";

}  // namespace

std::vector<std::string> record_results(Tx& tx, const std::vector<AttemptResult>& results) {
  auto& w = W(tx);
  std::vector<std::string> errors(results.size());
  for (size_t i = 0; i < results.size(); ++i) {
    const auto& res = results[i];
    for (const auto& a : res.artifacts) {
      auto id = w.exec_params1(
                     "INSERT INTO artifacts(digest, size, path) VALUES ($1, $2, $3) ON CONFLICT "
                     "(digest) DO UPDATE SET digest = EXCLUDED.digest RETURNING id",
                     a.digest, a.size, a.path)[0]
                    .as<int64_t>();
      w.exec_params(
          "INSERT INTO artifact_uses(artifact_id, task_run_id, direction, name, kind) VALUES "
          "($1, $2, 'output', $3, $4) ON CONFLICT (task_run_id, direction, name) DO UPDATE SET "
          "artifact_id = EXCLUDED.artifact_id, kind = EXCLUDED.kind",
          id, res.task_run_id, a.name, a.kind);
    }
    if (!res.metrics.empty()) insert_metrics(tx, res.run_id, res.task_run_id, res.metrics, 0, 0);
    // Inputs: every output artifact of the task's ancestors, as "task/name".
    w.exec_params(R"SQL(
WITH RECURSIVE anc(id) AS (
  SELECT parent_id FROM task_edges WHERE child_id = $1
  UNION SELECT e.parent_id FROM task_edges e JOIN anc ON e.child_id = anc.id
)
INSERT INTO artifact_uses(artifact_id, task_run_id, direction, name, kind)
SELECT u.artifact_id, $1, 'input', t.name || '/' || u.name, u.kind
FROM anc JOIN task_runs t ON t.id = anc.id
JOIN artifact_uses u ON u.task_run_id = t.id AND u.direction = 'output'
ON CONFLICT DO NOTHING)SQL",
                  res.task_run_id);
    errors[i] = apply_registry_ops(tx, res);  // registry.hpp: the one deploy path
  }
  return errors;
}

std::vector<int64_t> activate_queued_runs(Tx& tx) {
  auto& w = W(tx);
  std::vector<int64_t> out;
  auto pipes = w.exec("SELECT DISTINCT pipeline_id FROM runs WHERE state = 'queued'");
  for (const auto& p : pipes) {
    int64_t pid = p[0].as<int64_t>();
    w.exec_params("SELECT pg_advisory_xact_lock(7, $1::int)", static_cast<int>(pid));
    auto res = w.exec_params(R"SQL(
WITH q AS (
  SELECT id, concurrency FROM runs WHERE pipeline_id = $1 AND state = 'queued'
  ORDER BY id FOR UPDATE SKIP LOCKED
),
active AS (SELECT count(*) AS n FROM runs WHERE pipeline_id = $1 AND state = 'running'),
pick AS (
  SELECT q.id FROM q, active
  WHERE q.concurrency = 0 OR (SELECT count(*) FROM q q2 WHERE q2.id < q.id) + active.n < q.concurrency
),
u AS (
  UPDATE runs SET state = 'running', started_at = now() FROM pick WHERE runs.id = pick.id
  RETURNING runs.id
),
roots AS (
  UPDATE task_runs t SET state = 'ready' FROM u
  WHERE t.run_id = u.id AND t.state = 'pending' AND t.pending_deps = 0
)
INSERT INTO events(kind, run_id, payload) SELECT 'run', id, '{"state":"running"}' FROM u
RETURNING run_id)SQL",
                             pid);
    for (const auto& r : res) out.push_back(r[0].as<int64_t>());
  }
  return out;
}

CancelWork cancel_requested_runs(Tx& tx) {
  auto& w = W(tx);
  CancelWork out;
  // Per-run timeouts become cancellations with an error (the run then ends failed).
  w.exec(
      "UPDATE runs SET cancel_requested = true, error = 'run timed out' WHERE state = 'running' "
      "AND deadline IS NOT NULL AND deadline < now() AND NOT cancel_requested");
  auto runs = w.exec(
      "SELECT id FROM runs WHERE cancel_requested AND state IN ('queued','running') ORDER BY id "
      "FOR UPDATE SKIP LOCKED");
  for (const auto& row : runs) out.runs.push_back(row[0].as<int64_t>());
  if (!out.runs.empty())
    w.exec_params(std::string(R"SQL(
WITH t AS (
  UPDATE task_runs SET state = 'cancelled', finished_at = now(), lease_owner = NULL
  WHERE run_id = ANY($1::bigint[]) AND state IN ('pending','ready')
  RETURNING id, run_id, name, state
),
d AS (SELECT run_id, count(*)::int AS n FROM t GROUP BY run_id),
r AS (
  UPDATE runs SET tasks_done = runs.tasks_done + coalesce(d.n, 0),
    state = CASE WHEN runs.tasks_done + coalesce(d.n, 0) >= runs.tasks_total THEN
              CASE WHEN runs.error IS NULL THEN 'cancelled' ELSE 'failed' END
            ELSE 'running' END,
    started_at = coalesce(runs.started_at, now()),
    finished_at = CASE WHEN runs.tasks_done + coalesce(d.n, 0) >= runs.tasks_total THEN now() END
  FROM (SELECT unnest($1::bigint[]) AS id) ids LEFT JOIN d ON d.run_id = ids.id
  WHERE runs.id = ids.id
  RETURNING runs.id, runs.state
)
)SQL") + kEndedEvents,
                  id_array(out.runs));
  auto act = w.exec(std::string("SELECT ") + kActiveColumns + R"SQL(
FROM task_runs t JOIN runs r ON r.id = t.run_id
WHERE r.cancel_requested AND t.state IN ('dispatched','running'))SQL");
  for (const auto& row : act) out.to_kill.push_back(active_from_row(row));
  return out;
}

void renew_leases(Tx& tx, const std::string& owner, const std::string& host, int pid,
                  Millis lease) {
  auto& w = W(tx);
  w.exec_params(
      "UPDATE task_runs SET lease_expires_at = now() + make_interval(secs => $2::double "
      "precision / 1000) WHERE lease_owner = $1 AND state IN ('dispatched','running')",
      owner, lease.count());
  w.exec_params(
      "INSERT INTO servers(id, host, pid) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET "
      "seen_at = now()",
      owner, host, pid);
}

std::vector<ActiveAttempt> adopt_expired(Tx& tx, const std::string& owner, Millis lease,
                                         const std::vector<std::string>& dead_owners, int limit,
                                         const std::vector<int64_t>& own_known) {
  auto res = W(tx).exec_params(std::string(R"SQL(
WITH c AS (
  SELECT id FROM task_runs
  WHERE state IN ('dispatched','running')
    AND ((lease_owner IS NULL OR lease_owner <> $1)
         AND (lease_expires_at < now() OR lease_owner = ANY($3::text[]))
      OR lease_owner = $1 AND NOT (id = ANY($5::bigint[])))
  ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED
),
u AS (
  UPDATE task_runs t SET lease_owner = $1,
    lease_expires_at = now() + make_interval(secs => $2::double precision / 1000)
  FROM c WHERE t.id = c.id RETURNING t.id
)
SELECT )SQL") + kActiveColumns + R"SQL(
FROM task_runs t JOIN runs r ON r.id = t.run_id WHERE t.id IN (SELECT id FROM u) ORDER BY t.id)SQL",
                               owner, lease.count(), text_array(dead_owners), limit,
                               id_array(own_known));
  std::vector<ActiveAttempt> out;
  for (const auto& row : res) out.push_back(active_from_row(row));
  return out;
}

std::vector<ServerRow> suspect_servers(Tx& tx, const std::string& host, Millis silence) {
  std::vector<ServerRow> out;
  for (const auto& r : W(tx).exec_params(
           "SELECT id, host, pid, seen_at < now() - make_interval(secs => $2::double precision "
           "/ 1000) FROM servers WHERE host = $1 OR seen_at < now() - make_interval(secs => "
           "$2::double precision / 1000)",
           host, silence.count()))
    out.push_back({r[0].c_str(), r[1].c_str(), r[2].as<int>(), r[3].as<bool>()});
  return out;
}

void forget_server(Tx& tx, const std::string& id) {
  W(tx).exec_params("DELETE FROM servers WHERE id = $1", id);
}

std::optional<TimePoint> next_ready_time(Tx& tx) {
  auto r = W(tx).exec(
      "SELECT iso(min(not_before)) FROM task_runs WHERE state = 'ready' AND not_before > now()");
  if (r.empty() || r[0][0].is_null()) return std::nullopt;
  return parse_iso8601(r[0][0].c_str());
}

void upsert_pools(Tx& tx, const std::vector<std::pair<std::string, int>>& pools) {
  for (const auto& [name, slots] : pools)
    W(tx).exec_params(
        "INSERT INTO pools(name, slots) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET slots = "
        "EXCLUDED.slots",
        name, slots);
}

std::optional<CacheHit> find_cache_hit(Tx& tx, const std::string& cache_key) {
  auto r = W(tx).exec_params(
      "SELECT id, run_id, outputs::text FROM task_runs WHERE cache_key = $1 AND state = "
      "'succeeded' ORDER BY finished_at DESC, id DESC LIMIT 1",
      cache_key);
  if (r.empty()) return std::nullopt;
  return CacheHit{r[0][0].as<int64_t>(), r[0][1].as<int64_t>(), field_object(r[0][2])};
}

std::optional<boost::json::object> last_cache_components(Tx& tx, int64_t pipeline_version_id,
                                                         const std::string& task_name) {
  auto r = W(tx).exec_params(R"SQL(
SELECT t.cache_components::text FROM task_runs t JOIN runs r ON r.id = t.run_id
WHERE r.pipeline_id = (SELECT pipeline_id FROM pipeline_versions WHERE id = $1)
  AND t.name = $2 AND t.cache_components IS NOT NULL AND t.state = 'succeeded'
ORDER BY t.id DESC LIMIT 1)SQL",
                             pipeline_version_id, task_name);
  if (r.empty()) return std::nullopt;
  return field_object(r[0][0]);
}

void copy_artifact_uses(Tx& tx, int64_t from_task_run, int64_t to_task_run) {
  W(tx).exec_params(
      "INSERT INTO artifact_uses(artifact_id, task_run_id, direction, name, kind) SELECT "
      "artifact_id, $2, 'output', name, kind FROM artifact_uses WHERE task_run_id = $1 AND "
      "direction = 'output' ON CONFLICT DO NOTHING",
      from_task_run, to_task_run);
}

}  // namespace ctflow::store
