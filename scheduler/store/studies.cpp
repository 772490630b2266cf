#include "scheduler/store/studies.hpp"

#include "scheduler/common/json_util.hpp"
#include "scheduler/store/engine_ops.hpp"
#include "scheduler/store/internal.hpp"

namespace ctflow::store {

namespace {

std::optional<double> opt_double(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<double>();
}

std::vector<int64_t> ids_of(const pqxx::result& r) {
  std::vector<int64_t> out;
  for (const auto& row : r) out.push_back(row[0].as<int64_t>());
  return out;
}

}  // namespace

std::optional<int64_t> create_study(Tx& tx, const NewStudy& s) {
  auto& w = W(tx);
  auto driver = w.exec_params(R"SQL(
UPDATE task_runs SET state = 'running', started_at = coalesce(started_at, now()),
  lease_owner = NULL, lease_expires_at = NULL, deadline = NULL,
  cache_key = $3, cache_components = $4::jsonb, cache_reason = $5
WHERE id = $1 AND attempt = $2 AND state = 'dispatched' RETURNING id)SQL",
                              s.task_run_id, s.attempt, opt(s.cache_key), opt(s.cache_components),
                              opt(s.cache_reason));
  if (driver.empty()) return std::nullopt;
  w.exec_params(R"SQL(
INSERT INTO studies(task_run_id, run_id, name, algorithm, metric, goal, max_trials, parallelism,
                    seed, space, early_stopping)
SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9,
       coalesce(v.spec->'tasks'->$10::int->'hpo'->'space', '{}'),
       v.spec->'tasks'->$10::int->'hpo'->'early_stopping'
FROM runs r JOIN pipeline_versions v ON v.id = r.pipeline_version_id WHERE r.id = $2
ON CONFLICT (task_run_id) DO NOTHING)SQL",
                s.task_run_id, s.run_id, s.name, s.algorithm, s.metric, s.goal, s.max_trials,
                s.parallelism, s.seed, s.spec_index);
  auto id = w.exec_params1("SELECT id FROM studies WHERE task_run_id = $1", s.task_run_id);
  w.exec_params("UPDATE task_runs SET executor_ref = 'study:' || $2::text WHERE id = $1",
                s.task_run_id, id[0].as<int64_t>());
  emit_event(tx, "task", s.run_id, s.task_run_id,
             {{"task", s.name}, {"state", "running"}, {"study", id[0].as<int64_t>()}});
  return id[0].as<int64_t>();
}

std::optional<TrialOfTask> trial_of_task(Tx& tx, int64_t task_run_id) {
  auto r = W(tx).exec_params(
      "SELECT study_id, id, number, params::text FROM trials WHERE task_run_id = $1", task_run_id);
  if (r.empty()) return std::nullopt;
  TrialOfTask t;
  t.study_id = r[0][0].as<int64_t>();
  t.trial_id = r[0][1].as<int64_t>();
  t.number = r[0][2].as<int>();
  auto p = field_json(r[0][3]);
  if (p.is_object()) t.params = p.get_object();
  return t;
}

std::vector<int64_t> studies_of_tasks(Tx& tx, const std::vector<int64_t>& task_run_ids) {
  if (task_run_ids.empty()) return {};
  return ids_of(W(tx).exec_params(
      "SELECT DISTINCT study_id FROM trials WHERE task_run_id = ANY($1::bigint[]) ORDER BY 1",
      id_array(task_run_ids)));
}

std::vector<int64_t> running_studies(Tx& tx) {
  return ids_of(W(tx).exec("SELECT id FROM studies WHERE state = 'running' ORDER BY id"));
}

std::optional<StudyRow> load_study(Tx& tx, int64_t study_id) {
  auto& w = W(tx);
  auto r = w.exec_params(R"SQL(
SELECT s.id, s.run_id, s.task_run_id, d.state, d.attempt, d.max_attempts, d.priority,
       coalesce(d.pool, ''), d.spec_index, s.name, s.algorithm, s.metric, s.goal, s.state,
       s.max_trials, s.parallelism, s.seed, s.space::text, s.exhausted, r.cancel_requested, s.error
FROM studies s JOIN task_runs d ON d.id = s.task_run_id JOIN runs r ON r.id = s.run_id
WHERE s.id = $1 FOR UPDATE OF s)SQL",
                         study_id);
  if (r.empty()) return std::nullopt;
  const auto& row = r[0];
  StudyRow s;
  s.id = row[0].as<int64_t>();
  s.run_id = row[1].as<int64_t>();
  s.driver_id = row[2].as<int64_t>();
  s.driver_state = row[3].c_str();
  s.driver_attempt = row[4].as<int>();
  s.driver_max_attempts = row[5].as<int>();
  s.driver_priority = row[6].as<int>();
  s.driver_pool = row[7].c_str();
  s.spec_index = row[8].as<int>();
  s.name = row[9].c_str();
  s.algorithm = row[10].c_str();
  s.metric = row[11].c_str();
  s.goal = row[12].c_str();
  s.state = row[13].c_str();
  s.max_trials = row[14].as<int>();
  s.parallelism = row[15].as<int>();
  s.seed = row[16].as<int64_t>();
  s.space = field_json(row[17]);
  s.exhausted = row[18].as<bool>();
  s.run_cancelling = row[19].as<bool>();
  if (!row[20].is_null()) s.error = row[20].c_str();
  // The objective is the LAST value of the metric the trial wrote (by ingestion order, which is
  // file order): the model the trial ends with is the one its params produce.
  auto tr = w.exec_params(R"SQL(
SELECT t.id, t.task_run_id, t.number, t.params::text, t.state, t.value, k.state,
       coalesce(k.error, ''),
       (SELECT m.value FROM metrics m WHERE m.task_run_id = k.id AND m.name = $2
        ORDER BY m.id DESC LIMIT 1),
       CASE WHEN jsonb_typeof(k.outputs->$2) = 'number' THEN (k.outputs->>$2)::double precision END
FROM trials t JOIN task_runs k ON k.id = t.task_run_id
WHERE t.study_id = $1 ORDER BY t.number)SQL",
                          study_id, s.metric);
  for (const auto& x : tr) {
    TrialRow t;
    t.id = x[0].as<int64_t>();
    t.task_run_id = x[1].as<int64_t>();
    t.number = x[2].as<int>();
    auto p = field_json(x[3]);
    if (p.is_object()) t.params = p.get_object();
    t.state = x[4].c_str();
    t.value = opt_double(x[5]);
    t.task_state = x[6].c_str();
    t.task_error = x[7].c_str();
    t.last_metric = opt_double(x[8]);
    t.output_value = opt_double(x[9]);
    s.trials.push_back(std::move(t));
  }
  return s;
}

void update_trials(Tx& tx, int64_t run_id, const std::vector<TrialUpdate>& updates,
                   int failed_trials_refund) {
  if (!updates.empty()) {
    boost::json::array a;
    for (const auto& u : updates) {
      boost::json::object j{{"id", u.trial_id}, {"state", u.state}, {"final", u.final}};
      if (u.value) j["value"] = *u.value;
      if (u.error) j["error"] = *u.error;
      a.push_back(std::move(j));
    }
    W(tx).exec_params(R"SQL(
UPDATE trials t SET state = u.state, value = coalesce(u.value, t.value), error = u.error,
  finished_at = CASE WHEN u.final THEN now() END
FROM jsonb_to_recordset($1::jsonb) AS u(id bigint, state text, value double precision,
                                        error text, final boolean)
WHERE t.id = u.id)SQL",
                      serialize(a));
  }
  if (failed_trials_refund > 0)
    W(tx).exec_params("UPDATE runs SET tasks_failed = greatest(tasks_failed - $2, 0) WHERE id = $1",
                      run_id, failed_trials_refund);
}

void insert_trials(Tx& tx, const StudyRow& s, int first_number,
                   const std::vector<boost::json::object>& params) {
  if (params.empty()) return;
  boost::json::array a;
  for (size_t i = 0; i < params.size(); ++i)
    a.push_back({{"number", first_number + static_cast<int>(i)}, {"params", params[i]}});
  std::optional<std::string> pool;
  if (!s.driver_pool.empty()) pool = s.driver_pool;
  W(tx).exec_params(R"SQL(
WITH x AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(number int, params jsonb)
),
k AS (
  INSERT INTO task_runs(run_id, name, spec_index, state, max_attempts, priority, pending_deps,
                        pool, parent_task_run_id)
  SELECT $2, $3 || '[' || x.number || ']', $4, 'ready', $5, $6, 0, $7, $8
  FROM x ORDER BY x.number
  RETURNING id, name
),
t AS (
  INSERT INTO trials(study_id, number, params, state, task_run_id)
  SELECT $9, x.number, x.params, 'pending', k.id
  FROM x JOIN k ON k.name = $3 || '[' || x.number || ']'
),
r AS (UPDATE runs SET tasks_total = tasks_total + (SELECT count(*) FROM x) WHERE id = $2),
ev AS (
  INSERT INTO events(kind, run_id, task_run_id, payload)
  SELECT 'task', $2, k.id, jsonb_build_object('task', k.name, 'state', 'ready', 'study', $9::bigint)
  FROM k ORDER BY k.id
)
SELECT pg_notify('ctflow_wake', ''), pg_notify('ctflow_events', ''))SQL",
                    serialize(a), s.run_id, s.name, s.spec_index, s.driver_max_attempts,
                    s.driver_priority, opt(pool), s.driver_id, s.id);
}

void mark_exhausted(Tx& tx, int64_t study_id, const std::optional<std::string>& error) {
  W(tx).exec_params(
      "UPDATE studies SET exhausted = true, error = coalesce($2, error) WHERE id = $1", study_id,
      opt(error));
}

void finish_study(Tx& tx, int64_t study_id, const std::string& state,
                  std::optional<int64_t> best_trial_id, std::optional<double> best_value,
                  const std::optional<std::string>& error) {
  std::optional<std::string> best, value;
  if (best_trial_id) best = std::to_string(*best_trial_id);
  if (best_value) value = boost::json::serialize(boost::json::value(*best_value));
  W(tx).exec_params(
      "UPDATE studies SET state = $2, best_trial_id = $3::bigint, best_value = "
      "$4::double precision, error = coalesce($5, error), finished_at = now() WHERE id = $1",
      study_id, state, opt(best), opt(value), opt(error));
}

std::optional<StudyCurves> study_curves(Tx& tx, int64_t task_run_id, const std::string& metric) {
  auto& w = W(tx);
  auto t =
      w.exec_params("SELECT study_id, id, state FROM trials WHERE task_run_id = $1", task_run_id);
  if (t.empty()) return std::nullopt;
  StudyCurves c;
  c.study_id = t[0][0].as<int64_t>();
  c.trial_id = t[0][1].as<int64_t>();
  c.trial_state = t[0][2].c_str();
  auto pts = w.exec_params(R"SQL(
SELECT t.id, m.step, m.value FROM trials t JOIN metrics m ON m.task_run_id = t.task_run_id
WHERE t.study_id = $1 AND m.name = $2 AND (t.state = 'complete' OR t.id = $3)
ORDER BY t.id, m.id)SQL",
                           c.study_id, metric, c.trial_id);
  int64_t cur = -1, pos = 0;
  for (const auto& row : pts) {
    int64_t id = row[0].as<int64_t>();
    bool mine = id == c.trial_id;
    if (id != cur) {
      cur = id;
      pos = 0;
      if (!mine) c.completed.emplace_back();
    }
    int64_t step = row[1].is_null() ? pos : row[1].as<int64_t>();
    ++pos;
    (mine ? c.running : c.completed.back()).emplace_back(step, row[2].as<double>());
  }
  return c;
}

void mark_pruned(Tx& tx, int64_t trial_id, double value, const std::string& reason) {
  auto r = W(tx).exec_params(R"SQL(
UPDATE trials t SET state = 'pruned', value = $2, error = $3, finished_at = now()
FROM task_runs k WHERE t.id = $1 AND k.id = t.task_run_id
RETURNING k.run_id, k.id, k.name)SQL",
                             trial_id, value, reason);
  if (r.empty()) return;
  emit_event(tx, "task", r[0][0].as<int64_t>(), r[0][1].as<int64_t>(),
             {{"task", r[0][2].c_str()}, {"state", "pruned"}, {"reason", reason}});
}

}  // namespace ctflow::store
