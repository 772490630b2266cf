#include "scheduler/store/resources.hpp"

#include "scheduler/store/engine_ops.hpp"
#include "scheduler/store/internal.hpp"

namespace ctflow::store {

std::optional<boost::json::object> run_metrics(Tx& tx, const MetricQuery& q) {
  auto& w = W(tx);
  if (w.exec_params("SELECT 1 FROM runs WHERE id = $1", q.run_id).empty()) return std::nullopt;
  int n = std::clamp(q.max_points, 1, 10000);
  // x: the step, or the point's position in its series when it has none. Buckets split [lo, hi]
  // into n equal widths, so a long series keeps its shape and a short one keeps every point.
  auto res = w.exec_params(R"SQL(
WITH m AS (
  SELECT t.name AS task, mt.task_run_id, mt.name, mt.value, mt.id,
         coalesce(mt.step, row_number() OVER (PARTITION BY mt.task_run_id, mt.name ORDER BY mt.id) - 1) AS x
  FROM metrics mt JOIN task_runs t ON t.id = mt.task_run_id
  WHERE mt.run_id = $1 AND ($2::text IS NULL OR t.name = $2) AND ($3::text IS NULL OR mt.name = $3)
),
b AS (
  SELECT m.*, min(x) OVER s AS lo, max(x) OVER s AS hi, count(*) OVER s AS total
  FROM m WINDOW s AS (PARTITION BY task_run_id, name)
),
g AS (
  SELECT task, task_run_id, name, total, floor((x - lo)::numeric * $4 / (hi - lo + 1))::bigint AS bucket,
         max(x) AS step, min(value) AS vmin, max(value) AS vmax,
         (array_agg(value ORDER BY x DESC, id DESC))[1] AS vlast, count(*) AS n
  FROM b GROUP BY task, task_run_id, name, total, bucket
)
SELECT jsonb_build_object('task', task, 'name', name, 'points_total', total,
  'points', jsonb_agg(jsonb_build_object('step', step, 'min', vmin, 'max', vmax, 'last', vlast,
                                         'count', n) ORDER BY bucket))::text
FROM g GROUP BY task, task_run_id, name, total ORDER BY task, name, task_run_id)SQL",
                           q.run_id, opt(q.task), opt(q.name), n);
  boost::json::array series;
  for (const auto& row : res) series.push_back(field_json(row[0]));
  return boost::json::object{{"run_id", std::to_string(q.run_id)}, {"series", std::move(series)}};
}

std::optional<boost::json::object> get_artifact(Tx& tx, const std::string& digest) {
  auto r = W(tx).exec_params(R"SQL(
SELECT jsonb_build_object('digest', a.digest, 'size', a.size, 'created_at', iso(a.created_at),
  'produced_by', coalesce((SELECT jsonb_agg(jsonb_build_object('run_id', t.run_id::text,
       'task', t.name, 'task_run_id', t.id::text, 'name', u.name, 'kind', u.kind) ORDER BY t.id)
     FROM artifact_uses u JOIN task_runs t ON t.id = u.task_run_id
     WHERE u.artifact_id = a.id AND u.direction = 'output'), '[]'),
  'used_by', coalesce((SELECT jsonb_agg(jsonb_build_object('run_id', t.run_id::text,
       'task', t.name, 'task_run_id', t.id::text, 'name', u.name, 'kind', u.kind) ORDER BY t.id)
     FROM artifact_uses u JOIN task_runs t ON t.id = u.task_run_id
     WHERE u.artifact_id = a.id AND u.direction = 'input'), '[]'),
  'models', coalesce((SELECT jsonb_agg(jsonb_build_object('model', m.name, 'version', mv.version,
       'name', e.key) ORDER BY m.name, mv.version)
     FROM model_versions mv JOIN models m ON m.id = mv.model_id,
          jsonb_each(mv.artifacts) e WHERE e.value->>'digest' = a.digest), '[]'))::text
FROM artifacts a WHERE a.digest = $1)SQL",
                             digest);
  if (r.empty()) return std::nullopt;
  return field_json(r[0][0]).as_object();
}

std::optional<std::string> artifact_path(Tx& tx, const std::string& digest) {
  auto r = W(tx).exec_params("SELECT path FROM artifacts WHERE digest = $1", digest);
  if (r.empty()) return std::nullopt;
  return std::string(r[0][0].c_str());
}

RetryOutcome retry_failed(Tx& tx, int64_t run_id) {
  auto& w = W(tx);
  RetryOutcome out;
  auto run = w.exec_params("SELECT state FROM runs WHERE id = $1 FOR UPDATE", run_id);
  if (run.empty()) return out;
  out.state = run[0][0].c_str();
  if (out.state != "failed") {
    out.kind = RetryOutcome::Kind::NotFailed;
    return out;
  }
  // A failed HPO study keeps its trials and study row; restarting its driver is not supported.
  if (!w.exec_params("SELECT 1 FROM task_runs WHERE run_id = $1 AND state = 'failed' AND "
                     "executor_ref LIKE 'study:%' LIMIT 1",
                     run_id)
           .empty()) {
    out.kind = RetryOutcome::Kind::NotRetriable;
    return out;
  }
  // pending_deps: parents that have not succeeded (cached counts as succeeded). Parents being
  // reset in this statement are failed/upstream_failed, so they count, as they must.
  auto res = w.exec_params(R"SQL(
WITH t AS (
  UPDATE task_runs tr SET
    pending_deps = d.n,
    state = CASE WHEN d.n = 0 THEN 'ready' ELSE 'pending' END,
    max_attempts = tr.attempt + tr.max_attempts,
    error = NULL, exit_code = NULL, finished_at = NULL, not_before = '-infinity',
    lease_owner = NULL, lease_expires_at = NULL, deadline = NULL
  FROM (SELECT c.id, count(p.id) FILTER (WHERE p.state NOT IN ('succeeded','cached'))::int AS n
        FROM task_runs c LEFT JOIN task_edges e ON e.child_id = c.id
        LEFT JOIN task_runs p ON p.id = e.parent_id
        WHERE c.run_id = $1 AND c.state IN ('failed','upstream_failed')
          AND (to_jsonb(c)->>'parent_task_run_id') IS NULL  -- not an HPO trial
        GROUP BY c.id) d
  WHERE tr.id = d.id
  RETURNING tr.id, tr.name, tr.state, tr.spec_index
),
r AS (
  UPDATE runs SET state = 'running', error = NULL, finished_at = NULL, cancel_requested = false,
    tasks_done = tasks_done - (SELECT count(*) FROM t),
    tasks_failed = greatest(0, tasks_failed - (SELECT count(*) FROM t)),
    deadline = CASE WHEN deadline IS NULL THEN NULL
                    ELSE now() + (deadline - coalesce(started_at, created_at)) END
  WHERE id = $1 AND EXISTS (SELECT 1 FROM t)
  RETURNING id
),
ev AS (
  INSERT INTO events(kind, run_id, task_run_id, payload)
  SELECT kind, $1, tid, payload FROM (
    SELECT 0 AS o, 0 AS k, 'run' AS kind, NULL::bigint AS tid,
           jsonb_build_object('state', 'running', 'retry', true) AS payload FROM r
    UNION ALL
    SELECT 1, spec_index, 'task', id, jsonb_build_object('task', name, 'state', state, 'retry', true)
    FROM t) e ORDER BY o, k
)
SELECT name, pg_notify('ctflow_wake', $1::text), pg_notify('ctflow_events', '') FROM t
ORDER BY spec_index)SQL",
                           run_id);
  for (const auto& row : res) out.tasks.emplace_back(row[0].c_str());
  out.kind = out.tasks.empty() ? RetryOutcome::Kind::NotRetriable : RetryOutcome::Kind::Retried;
  if (!out.tasks.empty()) out.state = "running";
  return out;
}

StateCounts state_counts(Tx& tx) {
  auto& w = W(tx);
  StateCounts c;
  auto runs = w.exec(R"SQL(
SELECT s, coalesce(n, 0)
FROM unnest(ARRAY['queued','running','succeeded','failed','cancelled']) s
LEFT JOIN (SELECT state, count(*) AS n FROM runs GROUP BY state) x ON x.state = s)SQL");
  for (const auto& row : runs) c.runs.emplace_back(row[0].c_str(), row[1].as<int64_t>());
  // Unfinished tasks exist only in queued or running runs: the partial index runs_state keeps
  // this cheap however many finished runs the database holds.
  auto tasks = w.exec(R"SQL(
SELECT s, coalesce(n, 0), coalesce(due, 0)
FROM unnest(ARRAY['pending','ready','dispatched','running']) s
LEFT JOIN (SELECT t.state, count(*) AS n,
                  count(*) FILTER (WHERE t.state = 'ready' AND t.not_before <= now()) AS due
           FROM runs r JOIN task_runs t ON t.run_id = r.id
           WHERE r.state IN ('queued','running') GROUP BY t.state) x ON x.state = s)SQL");
  for (const auto& row : tasks) {
    c.tasks.emplace_back(row[0].c_str(), row[1].as<int64_t>());
    c.ready_due += row[2].as<int64_t>();
  }
  return c;
}

}  // namespace ctflow::store
