#include "scheduler/store/runs.hpp"

#include <map>

#include "scheduler/common/json_util.hpp"
#include "scheduler/store/engine_ops.hpp"
#include "scheduler/store/internal.hpp"

namespace ctflow::store {

StoredVersion upsert_pipeline_version(Tx& tx, const std::string& name, const std::string& digest,
                                      const std::string& canonical_spec) {
  auto& w = W(tx);
  StoredVersion s;
  // Read first: the upsert's DO UPDATE row-locks the pipeline until commit, which serialised
  // every concurrent submission of one pipeline (make bench-api).
  auto found = exec_cached(tx, "find_pipeline", "SELECT id FROM pipelines WHERE name = $1", name);
  s.pipeline_id = !found.empty()
                      ? found[0][0].as<int64_t>()
                      : w.exec_params1(
                             "INSERT INTO pipelines(name) VALUES ($1) ON CONFLICT (name) DO UPDATE "
                             "SET name = EXCLUDED.name RETURNING id",
                             name)[0]
                            .as<int64_t>();
  // A version already stored (the usual case) is found by its digest without sending the spec.
  auto find_version = [&] {
    return exec_cached(tx, "find_version", "SELECT id FROM pipeline_versions WHERE digest = $1",
                       digest);
  };
  auto known = find_version();
  if (!known.empty()) {
    s.version_id = known[0][0].as<int64_t>();
    return s;
  }
  auto ins = w.exec_params(
      "INSERT INTO pipeline_versions(pipeline_id, digest, spec) VALUES ($1, $2, $3::jsonb) ON "
      "CONFLICT (digest) DO NOTHING RETURNING id",
      s.pipeline_id, digest, canonical_spec);
  s.created = !ins.empty();
  // Not inserted: a concurrent submission stored it first.
  s.version_id = (s.created ? ins : find_version())[0][0].as<int64_t>();
  return s;
}

std::optional<std::string> version_spec(Tx& tx, int64_t version_id) {
  auto r = W(tx).exec_params("SELECT spec::text FROM pipeline_versions WHERE id = $1", version_id);
  if (r.empty()) return std::nullopt;
  return std::string(r[0][0].c_str());
}

int64_t insert_run(Tx& tx, const NewRun& run) {
  std::optional<std::string> ld, dis, die, timeout;
  if (run.logical_date) ld = format_iso8601(*run.logical_date);
  if (run.data_interval_start) dis = format_iso8601(*run.data_interval_start);
  if (run.data_interval_end) die = format_iso8601(*run.data_interval_end);
  if (run.run_timeout_ms) timeout = std::to_string(*run.run_timeout_ms);
  bool start_now = run.concurrency == 0;
  // The tasks and edges as arrays, one per column: PostgreSQL reads them in a fraction of the
  // time it takes to parse the same as JSON objects (a 1000-task run: 1000 tasks, 999 edges).
  std::vector<std::string> names, pools;
  std::vector<int> index, attempts, priority, deps, parents, children;
  for (const auto& t : run.tasks) {
    names.push_back(t.name);
    pools.push_back(t.pool);
    index.push_back(t.spec_index);
    attempts.push_back(t.max_attempts);
    priority.push_back(t.priority);
    deps.push_back(static_cast<int>(t.needs.size()));
    for (int p : t.needs) {
      parents.push_back(p);
      children.push_back(t.spec_index);
    }
  }
  // One statement (prepared once per connection): the run, its tasks and edges, its first event,
  // and the engine's wake-up.
  auto id =
      exec_cached(tx, "insert_run", R"SQL(
WITH r AS (
  INSERT INTO runs(pipeline_id, pipeline_version_id, state, params, logical_date,
                   data_interval_start, data_interval_end, trigger, concurrency, deadline,
                   tasks_total, started_at)
  SELECT pipeline_id, id, $2, $3::jsonb, coalesce($4::timestamptz, now()), $5::timestamptz,
         $6::timestamptz, $7, $8,
         CASE WHEN $9::bigint IS NULL THEN NULL
              ELSE now() + make_interval(secs => $9::bigint / 1000.0) END,
         $10, CASE WHEN $2 = 'running' THEN now() END
  FROM pipeline_versions WHERE id = $1
  RETURNING id
),
t AS (
  INSERT INTO task_runs(run_id, name, spec_index, state, max_attempts, priority, pending_deps, pool)
  SELECT r.id, name, spec_index,
         CASE WHEN pending_deps = 0 AND $2 = 'running' THEN 'ready' ELSE 'pending' END,
         max_attempts, priority, pending_deps, pool
  FROM r, unnest($11::text[], $12::int[], $13::int[], $14::int[], $15::int[], $16::text[])
          AS x(name, spec_index, max_attempts, priority, pending_deps, pool)
  ORDER BY spec_index
  RETURNING id, spec_index
),
e AS (
  INSERT INTO task_edges(parent_id, child_id)
  SELECT p.id, c.id FROM unnest($17::int[], $18::int[]) AS x(parent, child)
  JOIN t p ON p.spec_index = x.parent JOIN t c ON c.spec_index = x.child
),
ev AS (
  INSERT INTO events(kind, run_id, payload)
  SELECT 'run', r.id, jsonb_build_object('state', CASE WHEN $2 = 'running' THEN 'running'
                                                       ELSE 'queued' END) FROM r
)
SELECT r.id, pg_notify('ctflow_wake', r.id::text) FROM r)SQL",
                  run.pipeline_version_id, start_now ? "running" : "queued", serialize(run.params),
                  opt(ld), opt(dis), opt(die), run.trigger, run.concurrency, opt(timeout),
                  static_cast<int>(run.tasks.size()), text_array(names, false), id_array(index),
                  id_array(attempts), id_array(priority), id_array(deps), text_array(pools, true),
                  id_array(parents), id_array(children))[0][0]
          .as<int64_t>();
  return id;
}

// A run's columns, built into JSON by run_json() in C++: building it with jsonb_build_object and
// to_char in the database, then parsing that text again, held `GET /runs?limit=50` to 685
// requests/s under wrk; raw columns give 1030 (make bench-api, docs/benchmarks.md).
constexpr const char* kRunCols = R"SQL(
r.id, p.name, v.digest, r.state, r.params::text, r.trigger, r.tasks_total, r.tasks_done,
r.tasks_failed, r.error, r.cancel_requested, floor(extract(epoch FROM r.logical_date) * 1e6)::bigint,
floor(extract(epoch FROM r.created_at) * 1e6)::bigint,
floor(extract(epoch FROM r.started_at) * 1e6)::bigint,
floor(extract(epoch FROM r.finished_at) * 1e6)::bigint, floor(extract(epoch FROM now()) * 1e6)::bigint,
r.trigger_detail::text
)SQL";

namespace {

boost::json::value iso_us(const pqxx::field& f) {
  if (f.is_null()) return nullptr;
  return boost::json::string(format_iso8601(TimePoint(std::chrono::microseconds(f.as<int64_t>()))));
}

boost::json::object run_json(const pqxx::row& row) {
  boost::json::object o;
  o["id"] = std::string(row[0].c_str());
  o["pipeline"] = row[1].c_str();
  o["pipeline_version"] = row[2].c_str();
  o["state"] = row[3].c_str();
  o["params"] = field_json(row[4]);
  o["trigger"] =
      row[5].is_null() ? boost::json::value(nullptr) : boost::json::value(row[5].c_str());
  // Why it was started, beyond the trigger (a monitor's numbers that crossed); null for most.
  o["trigger_detail"] = row[16].is_null() ? boost::json::value(nullptr) : field_json(row[16]);
  o["tasks_total"] = row[6].as<int64_t>();
  o["tasks_done"] = row[7].as<int64_t>();
  o["tasks_failed"] = row[8].as<int64_t>();
  o["error"] = row[9].is_null() ? boost::json::value(nullptr) : boost::json::value(row[9].c_str());
  o["cancel_requested"] = row[10].as<bool>();
  o["logical_date"] = iso_us(row[11]);
  o["created_at"] = iso_us(row[12]);
  o["started_at"] = iso_us(row[13]);
  o["finished_at"] = iso_us(row[14]);
  if (row[13].is_null()) {
    o["duration_ms"] = nullptr;
  } else {
    int64_t end = row[14].is_null() ? row[15].as<int64_t>() : row[14].as<int64_t>();
    o["duration_ms"] = (end - row[13].as<int64_t>()) / 1000;
  }
  return o;
}

}  // namespace

constexpr const char* kTaskJson = R"SQL(
jsonb_build_object('id', t.id::text, 'name', t.name, 'state', t.state, 'attempt', t.attempt,
  'max_attempts', t.max_attempts, 'pending_deps', t.pending_deps, 'pool', t.pool,
  'exit_code', t.exit_code, 'error', t.error, 'cache_key', t.cache_key,
  'cache_reason', t.cache_reason, 'outputs', t.outputs, 'not_before', iso(nullif(t.not_before, '-infinity')),
  'started_at', iso(t.started_at), 'finished_at', iso(t.finished_at),
  'duration_ms', (extract(epoch FROM (coalesce(t.finished_at, now()) - t.started_at)) * 1000)::bigint)
)SQL";

namespace {

// Sets "needs" (parents' names in spec order) on the task objects of `run_id` (by task run id).
// Read as plain rows and joined here: a per-task subquery, or a grouped one, planned against the
// statistics of before a run was inserted rescanned every edge for each task (2 s for 1000).
void add_needs(Tx& tx, int64_t run_id, std::optional<int64_t> child,
               std::map<int64_t, boost::json::object*>& tasks) {
  // One task's needs by their own statement: a prepared `$2 IS NULL OR e.child_id = $2` gets a
  // generic plan that reads every edge of the run (GET .../tasks/NAME of a 100,000-task run:
  // 700 ms; make bench-scale).
  auto res = child ? exec_cached(tx, "task_needs", R"SQL(
SELECT e.child_id, pt.name FROM task_edges e JOIN task_runs pt ON pt.id = e.parent_id
WHERE e.child_id = $1 AND pt.run_id = $2 ORDER BY pt.spec_index)SQL",
                                 *child, run_id)
                   : exec_cached(tx, "run_needs", R"SQL(
SELECT e.child_id, pt.name FROM task_runs pt JOIN task_edges e ON e.parent_id = pt.id
WHERE pt.run_id = $1 ORDER BY e.child_id, pt.spec_index)SQL",
                                 run_id);
  for (auto& [id, t] : tasks) (*t)["needs"] = boost::json::array();
  for (const auto& row : res)
    if (auto it = tasks.find(row[0].as<int64_t>()); it != tasks.end())
      (*it->second)["needs"].as_array().emplace_back(row[1].c_str());
}

}  // namespace

boost::json::object list_runs(Tx& tx, const RunFilter& f) {
  std::optional<std::string> before;
  if (f.before_id) before = std::to_string(*f.before_id);
  int limit = std::clamp(f.limit, 1, 500);
  auto res = exec_cached(tx, "list_runs", std::string("SELECT ") + kRunCols + R"SQL(
FROM runs r JOIN pipelines p ON p.id = r.pipeline_id
JOIN pipeline_versions v ON v.id = r.pipeline_version_id
WHERE ($1::text IS NULL OR p.name = $1) AND ($2::text IS NULL OR r.state = $2)
  AND ($3::timestamptz IS NULL OR r.created_at >= $3) AND ($4::timestamptz IS NULL OR r.created_at < $4)
  AND ($5::bigint IS NULL OR r.id < $5)
ORDER BY r.id DESC LIMIT $6)SQL",
                         opt(f.pipeline), opt(f.state), opt(f.since), opt(f.until), opt(before),
                         limit + 1);
  boost::json::array runs;
  boost::json::value next = nullptr;
  for (size_t i = 0; i < res.size(); ++i) {
    if (static_cast<int>(i) == limit) {
      next = std::to_string(res[i - 1][0].as<int64_t>());
      break;
    }
    runs.push_back(run_json(res[i]));
  }
  return {{"runs", std::move(runs)}, {"next_cursor", next}};
}

std::optional<boost::json::object> get_run(Tx& tx, int64_t run_id, bool with_tasks) {
  auto r = exec_cached(tx, "get_run", std::string("SELECT ") + kRunCols + R"SQL(
FROM runs r JOIN pipelines p ON p.id = r.pipeline_id
JOIN pipeline_versions v ON v.id = r.pipeline_version_id WHERE r.id = $1)SQL",
                       run_id);
  if (r.empty()) return std::nullopt;
  auto run = run_json(r[0]);
  if (!with_tasks) return run;
  boost::json::array tasks;
  auto ts = W(tx).exec_params(std::string("SELECT ") + kTaskJson +
                                  "::text, t.id FROM task_runs t WHERE t.run_id = $1 "
                                  "ORDER BY t.spec_index",
                              run_id);
  tasks.reserve(ts.size());
  std::map<int64_t, boost::json::object*> by_id;
  for (const auto& row : ts) {
    tasks.push_back(field_json(row[0]));
    by_id[row[1].as<int64_t>()] = &tasks.back().as_object();
  }
  add_needs(tx, run_id, std::nullopt, by_id);
  run["tasks"] = std::move(tasks);
  return run;
}

std::optional<boost::json::object> get_task(Tx& tx, int64_t run_id, const std::string& task) {
  auto r =
      W(tx).exec_params(std::string("SELECT ") + kTaskJson +
                            "::text, t.id FROM task_runs t WHERE t.run_id = $1 AND t.name = $2",
                        run_id, task);
  if (r.empty()) return std::nullopt;
  auto t = field_json(r[0][0]).as_object();
  std::map<int64_t, boost::json::object*> self{{r[0][1].as<int64_t>(), &t}};
  add_needs(tx, run_id, r[0][1].as<int64_t>(), self);
  auto at = W(tx).exec_params(R"SQL(
SELECT jsonb_build_object('attempt', attempt, 'state', state, 'exit_code', exit_code,
  'error', error, 'executor_ref', executor_ref, 'argv', argv, 'started_at', iso(started_at),
  'finished_at', iso(finished_at))::text
FROM task_attempts WHERE task_run_id = $1 ORDER BY id)SQL",
                              r[0][1].as<int64_t>());
  boost::json::array attempts;
  for (const auto& row : at) attempts.push_back(field_json(row[0]));
  t["attempts"] = std::move(attempts);
  return t;
}

boost::json::array list_pipelines(Tx& tx) {
  auto res = W(tx).exec(R"SQL(
SELECT jsonb_build_object('name', p.name, 'created_at', iso(p.created_at),
  'versions', (SELECT count(*) FROM pipeline_versions v WHERE v.pipeline_id = p.id),
  'latest_version', (SELECT v.digest FROM pipeline_versions v WHERE v.pipeline_id = p.id
                     ORDER BY v.id DESC LIMIT 1),
  'runs', (SELECT count(*) FROM runs r WHERE r.pipeline_id = p.id))::text
FROM pipelines p ORDER BY p.name)SQL");
  boost::json::array out;
  for (const auto& row : res) out.push_back(field_json(row[0]));
  return out;
}

std::optional<boost::json::object> get_pipeline(Tx& tx, const std::string& name) {
  auto res = W(tx).exec_params(R"SQL(
SELECT jsonb_build_object('name', p.name, 'created_at', iso(p.created_at),
  'versions', coalesce((SELECT jsonb_agg(jsonb_build_object('digest', v.digest,
     'created_at', iso(v.created_at), 'spec', v.spec) ORDER BY v.id DESC)
     FROM pipeline_versions v WHERE v.pipeline_id = p.id), '[]'))::text
FROM pipelines p WHERE p.name = $1)SQL",
                               name);
  if (res.empty()) return std::nullopt;
  return field_json(res[0][0]).as_object();
}

std::optional<std::string> request_cancel(Tx& tx, int64_t run_id) {
  auto r = W(tx).exec_params(R"SQL(
UPDATE runs SET cancel_requested = cancel_requested OR state IN ('queued','running')
WHERE id = $1 RETURNING state)SQL",
                             run_id);
  if (r.empty()) return std::nullopt;
  W(tx).exec_params("SELECT pg_notify('ctflow_wake', $1)", std::to_string(run_id));
  return std::string(r[0][0].c_str());
}

std::optional<LogRef> task_log(Tx& tx, int64_t run_id, const std::string& task,
                               std::optional<int> attempt) {
  std::optional<std::string> a;
  if (attempt) a = std::to_string(*attempt);
  auto r = W(tx).exec_params(R"SQL(
SELECT ta.executor_ref, t.state FROM task_runs t
JOIN task_attempts ta ON ta.task_run_id = t.id
WHERE t.run_id = $1 AND t.name = $2 AND ($3::int IS NULL OR ta.attempt = $3)
ORDER BY ta.id DESC LIMIT 1)SQL",
                             run_id, task, opt(a));
  if (r.empty() || r[0][0].is_null()) return std::nullopt;
  return LogRef{r[0][0].c_str(), r[0][1].c_str()};
}

}  // namespace ctflow::store
