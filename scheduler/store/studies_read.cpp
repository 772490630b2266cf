// Studies and trials as the API shows them (GET /api/v1/studies...). JSON is built by PostgreSQL,
// as for the model registry (models.cpp): these are small, read-only documents.
#include "scheduler/store/internal.hpp"
#include "scheduler/store/studies.hpp"

namespace ctflow::store {

namespace {

constexpr const char* kStudyJson = R"SQL(
jsonb_build_object('id', s.id::text, 'run_id', s.run_id::text, 'task', s.name,
  'task_run_id', s.task_run_id::text, 'algorithm', s.algorithm, 'metric', s.metric,
  'goal', s.goal, 'max_trials', s.max_trials, 'parallelism', s.parallelism, 'seed', s.seed,
  'state', s.state, 'error', s.error, 'created_at', iso(s.created_at),
  'finished_at', iso(s.finished_at),
  'trials', (SELECT jsonb_build_object(
                'total', count(*), 'complete', count(*) FILTER (WHERE t.state = 'complete'),
                'running', count(*) FILTER (WHERE t.state IN ('pending','running')),
                'failed', count(*) FILTER (WHERE t.state = 'failed'),
                'pruned', count(*) FILTER (WHERE t.state = 'pruned'))
             FROM trials t WHERE t.study_id = s.id),
  'best', (SELECT jsonb_build_object('number', b.number, 'params', b.params, 'value', b.value)
           FROM trials b WHERE b.id = s.best_trial_id))
)SQL";

}  // namespace

boost::json::array list_studies(Tx& tx, std::optional<int64_t> run_id, int limit) {
  std::optional<std::string> rid;
  if (run_id) rid = std::to_string(*run_id);
  auto r = W(tx).exec_params(std::string("SELECT ") + kStudyJson + R"SQL(::text FROM studies s
WHERE $1::bigint IS NULL OR s.run_id = $1 ORDER BY s.id DESC LIMIT $2)SQL",
                             opt(rid), std::clamp(limit, 1, 500));
  boost::json::array out;
  for (const auto& row : r) out.push_back(field_json(row[0]));
  return out;
}

std::optional<boost::json::object> get_study(Tx& tx, int64_t study_id) {
  auto r = W(tx).exec_params(std::string("SELECT ") + kStudyJson + R"SQL(::text, s.space::text,
  coalesce(s.early_stopping::text, 'null'),
  coalesce((SELECT jsonb_agg(jsonb_build_object('number', t.number, 'params', t.params,
              'state', t.state, 'value', t.value, 'error', t.error,
              'task_run_id', t.task_run_id::text, 'task', tr.name,
              'created_at', iso(t.created_at), 'finished_at', iso(t.finished_at))
            ORDER BY t.number)
            FROM trials t JOIN task_runs tr ON tr.id = t.task_run_id
            WHERE t.study_id = s.id), '[]')::text
FROM studies s WHERE s.id = $1)SQL",
                             study_id);
  if (r.empty()) return std::nullopt;
  auto o = field_json(r[0][0]).as_object();
  o["space"] = field_json(r[0][1]);
  o["early_stopping"] = field_json(r[0][2]);
  o["trial_list"] = field_json(r[0][3]);
  return o;
}

}  // namespace ctflow::store
