// Reruns from a task: read what the old run recorded, copy the reused tasks into the new run.
#include "scheduler/common/json_util.hpp"
#include "scheduler/store/engine_ops.hpp"
#include "scheduler/store/internal.hpp"
#include "scheduler/store/schedules.hpp"

namespace ctflow::store {

std::optional<RunSource> run_source(Tx& tx, int64_t run_id) {
  auto& w = W(tx);
  auto r = w.exec_params(R"SQL(
SELECT pipeline_version_id, schedule_id, params::text, iso(logical_date),
       iso(data_interval_start), iso(data_interval_end)
FROM runs WHERE id = $1)SQL",
                         run_id);
  if (r.empty()) return std::nullopt;
  RunSource s;
  s.run_id = run_id;
  s.pipeline_version_id = r[0][0].as<int64_t>();
  if (!r[0][1].is_null()) s.schedule_id = r[0][1].as<int64_t>();
  boost::json::error_code ec;
  auto params = boost::json::parse(r[0][2].c_str(), ec);
  if (!ec && params.is_object()) s.params = params.as_object();
  auto time_of = [](const pqxx::field& f) -> std::optional<TimePoint> {
    if (f.is_null()) return std::nullopt;
    return parse_iso8601(f.c_str());
  };
  s.logical_date = time_of(r[0][3]);
  s.data_interval_start = time_of(r[0][4]);
  s.data_interval_end = time_of(r[0][5]);
  auto ts = w.exec_params(
      "SELECT name, state FROM task_runs WHERE run_id = $1 AND parent_task_run_id IS NULL", run_id);
  for (const auto& row : ts) s.task_states[row[0].c_str()] = row[1].c_str();
  return s;
}

void reuse_tasks(Tx& tx, int64_t old_run, int64_t new_run, const std::vector<std::string>& reuse) {
  auto& w = W(tx);
  boost::json::array names;
  for (const auto& n : reuse) names.emplace_back(n);
  std::string names_json = serialize(names);
  // The reused tasks: state, outputs, timestamps of the old run's task; attempt stays 0.
  w.exec_params(R"SQL(
WITH src AS (
  SELECT o.name, o.state, o.outputs, o.started_at, o.finished_at FROM task_runs o
  WHERE o.run_id = $1 AND o.name IN (SELECT jsonb_array_elements_text($3::jsonb))
    AND o.state IN ('succeeded','cached')
),
t AS (
  UPDATE task_runs t SET state = src.state, outputs = src.outputs, pending_deps = 0,
    cache_reason = 'reused from run ' || $1::text, started_at = src.started_at,
    finished_at = src.finished_at
  FROM src WHERE t.run_id = $2 AND t.name = src.name
  RETURNING t.id, t.run_id, t.name, t.state
)
INSERT INTO events(kind, run_id, task_run_id, payload)
SELECT 'task', run_id, id, jsonb_build_object('task', name, 'state', state, 'reused_from', $1::text)
FROM t ORDER BY id)SQL",
                old_run, new_run, names_json);
  // Their artifact uses (outputs, and inputs for lineage), as a cache hit does.
  w.exec_params(R"SQL(
INSERT INTO artifact_uses(artifact_id, task_run_id, direction, name, kind)
SELECT au.artifact_id, n.id, au.direction, au.name, au.kind
FROM artifact_uses au JOIN task_runs o ON o.id = au.task_run_id
JOIN task_runs n ON n.run_id = $2 AND n.name = o.name
WHERE o.run_id = $1 AND o.name IN (SELECT jsonb_array_elements_text($3::jsonb))
ON CONFLICT DO NOTHING)SQL",
                old_run, new_run, names_json);
  // The others wait only for parents that are not reused.
  w.exec_params(R"SQL(
WITH c AS (
  SELECT t.id, (SELECT count(*) FROM task_edges e JOIN task_runs p ON p.id = e.parent_id
                WHERE e.child_id = t.id AND p.state NOT IN ('succeeded','cached')) AS n
  FROM task_runs t WHERE t.run_id = $1 AND t.state IN ('pending','ready')
)
UPDATE task_runs t SET pending_deps = c.n,
  state = CASE WHEN c.n = 0 AND r.state = 'running' THEN 'ready' ELSE 'pending' END
FROM c, runs r WHERE t.id = c.id AND r.id = $1)SQL",
                new_run);
  w.exec_params(R"SQL(
UPDATE runs SET rerun_of = $2,
  tasks_done = (SELECT count(*) FROM task_runs WHERE run_id = $1 AND state IN ('succeeded','cached'))
WHERE id = $1)SQL",
                new_run, old_run);
}

}  // namespace ctflow::store
