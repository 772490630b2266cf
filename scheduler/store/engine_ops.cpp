#include "scheduler/store/engine_ops.hpp"

#include "scheduler/common/json_util.hpp"
#include "scheduler/store/internal.hpp"
#include "scheduler/store/registry_sql.hpp"

namespace ctflow::store {

namespace {

std::string field_str(const pqxx::field& f) {
  return f.is_null() ? std::string() : f.c_str();
}

}  // namespace

std::vector<ClaimedTask> claim_ready(Tx& tx, const std::string& owner, int limit, Millis lease,
                                     bool with_pools) {
  auto& w = W(tx);
  std::vector<ClaimedTask> out;
  if (limit <= 0) return out;
  auto claim = [&](const char* pool_cond, std::optional<std::string> pool, int n) {
    std::string sql = std::string(R"SQL(
WITH cand AS MATERIALIZED (
  -- The first ready tasks in claim order, without the join: with thousands ready, a plan that
  -- joined every ready task to its run before sorting took 6-14 ms (make bench-api). Ready
  -- tasks of runs that are not running (cancel requested, ended) are few and brief: the engine
  -- cancels them in its next pass, so a margin over the limit is enough.
  SELECT tr.id, tr.run_id, tr.priority FROM task_runs tr
  WHERE tr.state = 'ready' AND tr.not_before <= now() AND )SQL") +
                      pool_cond + R"SQL(
  ORDER BY tr.priority, tr.id LIMIT 4 * $1 + 64
),
c AS (
  SELECT tr.id FROM cand JOIN task_runs tr ON tr.id = cand.id JOIN runs r ON r.id = cand.run_id
  WHERE tr.state = 'ready' AND r.state = 'running' AND NOT r.cancel_requested
  ORDER BY cand.priority, cand.id LIMIT $1 FOR UPDATE OF tr SKIP LOCKED
),
u AS (
  UPDATE task_runs t SET state = 'dispatched', attempt = t.attempt + 1, lease_owner = $2,
    lease_expires_at = now() + make_interval(secs => $3::double precision / 1000)
  FROM c WHERE t.id = c.id
  RETURNING t.id, t.run_id, t.name, t.spec_index, t.attempt, t.max_attempts
)
SELECT u.id, u.run_id, u.name, u.spec_index, u.attempt, u.max_attempts, r.pipeline_version_id,
       p.name, r.params::text, iso(r.logical_date), iso(r.data_interval_start),
       iso(r.data_interval_end), v.digest,
       -- direct parents' outputs and artifacts (templates and the inputs file)
       coalesce((SELECT jsonb_agg(jsonb_build_object('spec_index', pt.spec_index, 'name', pt.name,
                   'state', pt.state, 'outputs', pt.outputs, 'artifacts',
                   coalesce((SELECT jsonb_object_agg(au.name, jsonb_build_object('path', a.path,
                               'digest', a.digest, 'kind', au.kind, 'size', a.size))
                             FROM artifact_uses au JOIN artifacts a ON a.id = au.artifact_id
                             WHERE au.task_run_id = pt.id AND au.direction = 'output'), '{}')))
                 FROM task_edges te JOIN task_runs pt ON pt.id = te.parent_id
                 WHERE te.child_id = u.id), '[]')::text,
       -- current production deployments (evaluated once per statement)
       )SQL" + kCurrentDeploymentsSql +
                      R"SQL(::text
FROM u JOIN runs r ON r.id = u.run_id JOIN pipelines p ON p.id = r.pipeline_id
JOIN pipeline_versions v ON v.id = r.pipeline_version_id ORDER BY u.id
)SQL";
    auto res = pool ? exec_cached(tx, "claim_pool", sql, n, owner, lease.count(), *pool)
                    : exec_cached(tx, "claim", sql, n, owner, lease.count());
    for (const auto& row : res) {
      ClaimedTask c;
      c.task_run_id = row[0].as<int64_t>();
      c.run_id = row[1].as<int64_t>();
      c.name = row[2].c_str();
      c.spec_index = row[3].as<int>();
      c.attempt = row[4].as<int>();
      c.max_attempts = row[5].as<int>();
      c.pipeline_version_id = row[6].as<int64_t>();
      c.pipeline = row[7].c_str();
      c.params = field_object(row[8]);
      c.logical_date = field_str(row[9]);
      c.data_interval_start = field_str(row[10]);
      c.data_interval_end = field_str(row[11]);
      c.pipeline_digest = row[12].c_str();
      boost::json::error_code ec;
      auto parents = boost::json::parse(row[13].c_str(), ec);
      if (!ec && parents.is_array()) {
        for (const auto& pv : parents.as_array()) {
          const auto& po = pv.as_object();
          UpstreamInfo info;
          info.name = std::string(po.at("name").as_string());
          info.state = std::string(po.at("state").as_string());
          if (po.at("outputs").is_object()) info.outputs = po.at("outputs").as_object();
          if (po.at("artifacts").is_object()) info.artifacts = po.at("artifacts").as_object();
          c.parents.emplace_back(static_cast<int>(po.at("spec_index").to_number<int64_t>()),
                                 std::move(info));
        }
      }
      c.models = field_object(row[14]);
      out.push_back(std::move(c));
    }
  };
  claim("tr.pool IS NULL", std::nullopt, limit);
  if (!with_pools) return out;
  // Pools: lock each pool row with ready work, count its active tasks, claim what fits.
  auto pools = w.exec(
      "SELECT DISTINCT pool FROM task_runs WHERE pool IS NOT NULL AND state = 'ready' "
      "AND not_before <= now()");
  for (const auto& p : pools) {
    int room = limit - static_cast<int>(out.size());
    if (room <= 0) break;
    std::string name = p[0].c_str();
    auto slots = w.exec_params("SELECT slots FROM pools WHERE name = $1 FOR UPDATE", name);
    int total = slots.empty() ? 1 : slots[0][0].as<int>();
    auto active = w.exec_params(
        "SELECT count(*) FROM task_runs WHERE pool = $1 AND state IN ('dispatched','running')",
        name);
    int free = total - active[0][0].as<int>();
    if (free > 0) claim("tr.pool = $4", name, std::min(free, room));
  }
  return out;
}

std::vector<std::pair<int, UpstreamInfo>> load_upstream(Tx& tx, int64_t run_id,
                                                        const std::vector<int>& spec_indices) {
  std::vector<std::pair<int, UpstreamInfo>> out;
  if (spec_indices.empty()) return out;
  auto res = W(tx).exec_params(R"SQL(
SELECT t.spec_index, t.name, t.state, t.outputs::text,
  coalesce((SELECT jsonb_object_agg(u.name, jsonb_build_object('path', a.path, 'digest', a.digest,
            'kind', u.kind, 'size', a.size))
            FROM artifact_uses u JOIN artifacts a ON a.id = u.artifact_id
            WHERE u.task_run_id = t.id AND u.direction = 'output'), '{}')::text
FROM task_runs t WHERE t.run_id = $1 AND t.spec_index = ANY($2::int[])
  AND t.parent_task_run_id IS NULL  -- not hpo trials (they share their study's index)
)SQL",
                               run_id, id_array(spec_indices));
  for (const auto& row : res) {
    UpstreamInfo u;
    u.name = row[1].c_str();
    u.state = row[2].c_str();
    u.outputs = field_object(row[3]);
    u.artifacts = field_object(row[4]);
    out.emplace_back(row[0].as<int>(), std::move(u));
  }
  return out;
}

std::vector<int64_t> task_ids(Tx& tx, int64_t run_id) {
  std::vector<int64_t> ids;
  auto res = exec_cached(tx, "task_ids",
                         "SELECT spec_index, id FROM task_runs WHERE run_id = $1 "
                         "AND parent_task_run_id IS NULL",  // not hpo trials
                         run_id);
  for (const auto& row : res) {
    auto i = static_cast<size_t>(row[0].as<int>());
    if (i >= ids.size()) ids.resize(i + 1, 0);
    ids[i] = row[1].as<int64_t>();
  }
  return ids;
}

std::vector<int64_t> start_attempts(Tx& tx, const std::vector<DispatchOp>& ops,
                                    const std::string& owner, const std::string& ref_prefix) {
  std::vector<int64_t> ids(ops.size(), 0);
  if (ops.empty()) return ids;
  boost::json::array a;
  for (const auto& o : ops) {
    boost::json::object j;
    j["task_run_id"] = o.task_run_id;
    j["attempt"] = o.attempt;
    j["argv"] = boost::json::parse(o.argv_json);
    if (o.cache_key) j["cache_key"] = *o.cache_key;
    if (o.cache_reason) j["cache_reason"] = *o.cache_reason;
    if (o.cache_components) j["cache_components"] = boost::json::parse(*o.cache_components);
    if (o.timeout_ms) j["timeout_ms"] = *o.timeout_ms;
    a.push_back(std::move(j));
  }
  auto res = exec_cached(tx, "start_attempts", R"SQL(
WITH o AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(task_run_id bigint, attempt int, argv jsonb,
    cache_key text, cache_reason text, cache_components jsonb, timeout_ms bigint)
),
ins AS (
  INSERT INTO task_attempts(task_run_id, attempt, state, owner, executor_ref, argv)
  SELECT o.task_run_id, o.attempt, 'dispatched', $2, $3 || o.task_run_id || '-' || o.attempt, o.argv
  FROM o RETURNING id, task_run_id
),
upd AS (
  UPDATE task_runs t SET executor_ref = $3 || o.task_run_id || '-' || o.attempt,
    cache_key = o.cache_key, cache_reason = o.cache_reason, cache_components = o.cache_components,
    deadline = CASE WHEN o.timeout_ms IS NULL THEN NULL
                    ELSE now() + make_interval(secs => o.timeout_ms / 1000.0) END
  FROM o WHERE t.id = o.task_run_id
  RETURNING t.id, t.run_id, t.name
),
ev AS (
  INSERT INTO events(kind, run_id, task_run_id, payload)
  SELECT 'task', run_id, id, jsonb_build_object('task', name, 'state', 'dispatched') FROM upd
  ORDER BY id
)
SELECT id, task_run_id, pg_notify('ctflow_events', '') FROM ins
)SQL",
                         serialize(a), owner, ref_prefix);
  for (const auto& row : res) {
    int64_t tr = row[1].as<int64_t>();
    for (size_t i = 0; i < ops.size(); ++i)
      if (ops[i].task_run_id == tr) ids[i] = row[0].as<int64_t>();
  }
  return ids;
}

void mark_running(Tx& tx, const std::vector<Started>& started) {
  if (started.empty()) return;
  boost::json::array a;
  for (const auto& s : started)
    a.push_back({{"task_run_id", s.task_run_id},
                 {"attempt_id", s.attempt_id},
                 {"attempt", s.attempt},
                 {"at", format_iso8601(s.at)}});
  exec_cached(tx, "mark_running", R"SQL(
WITH s AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(task_run_id bigint, attempt_id bigint,
                                                   attempt int, at timestamptz)
),
t AS (
  UPDATE task_runs tr SET state = 'running', started_at = coalesce(tr.started_at, s.at)
  FROM s WHERE tr.id = s.task_run_id AND tr.attempt = s.attempt AND tr.state = 'dispatched'
  RETURNING tr.id, tr.run_id, tr.name
),
a AS (
  UPDATE task_attempts ta SET state = 'running', started_at = s.at
  FROM s WHERE ta.id = s.attempt_id AND ta.state = 'dispatched'
)
INSERT INTO events(kind, run_id, task_run_id, payload)
SELECT 'task', run_id, id, jsonb_build_object('task', name, 'state', 'running') FROM t ORDER BY id
)SQL",
              serialize(a));
}

void insert_metrics(Tx& tx, int64_t run_id, int64_t task_run_id,
                    const std::vector<MetricPoint>& points, int64_t attempt_id,
                    int64_t new_offset) {
  if (!points.empty()) {
    boost::json::array a;
    for (const auto& p : points) {
      boost::json::object j{{"name", p.name}, {"value", p.value}};
      if (p.step) j["step"] = *p.step;
      a.push_back(std::move(j));
    }
    W(tx).exec_params(R"SQL(
WITH m AS (
  INSERT INTO metrics(run_id, task_run_id, name, value, step)
  SELECT $2, $3, name, value, step
  FROM jsonb_to_recordset($1::jsonb) AS x(name text, value double precision, step bigint)
  RETURNING name, value, step
)
INSERT INTO events(kind, run_id, task_run_id, payload)
SELECT 'metric', $2, $3, jsonb_build_object('points', jsonb_agg(jsonb_build_object(
  'name', name, 'value', value, 'step', step))) FROM m HAVING count(*) > 0
)SQL",
                      serialize(a), run_id, task_run_id);
  }
  if (attempt_id)
    W(tx).exec_params("UPDATE task_attempts SET metrics_offset = $2 WHERE id = $1", attempt_id,
                      new_offset);
}

void emit_event(Tx& tx, const std::string& kind, std::optional<int64_t> run_id,
                std::optional<int64_t> task_run_id, const boost::json::object& payload) {
  std::optional<std::string> r, t;
  if (run_id) r = std::to_string(*run_id);
  if (task_run_id) t = std::to_string(*task_run_id);
  W(tx).exec_params(
      "INSERT INTO events(kind, run_id, task_run_id, payload) VALUES ($1, $2::bigint, "
      "$3::bigint, $4::jsonb)",
      kind, opt(r), opt(t), serialize(payload));
}

void notify(Tx& tx, const std::string& channel, const std::string& payload) {
  W(tx).exec_params("SELECT pg_notify($1, $2)", channel, payload);
}

}  // namespace ctflow::store
