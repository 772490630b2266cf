// finish_tasks and propagate: the transitions that end tasks, ready or dispatch their children,
// and count them on their runs.
#include "scheduler/common/json_util.hpp"
#include "scheduler/store/engine_ops.hpp"
#include "scheduler/store/internal.hpp"
#include "scheduler/store/registry_sql.hpp"

namespace ctflow::store {

namespace {

// Bumps run counters by the final transitions in CTE `t` (columns run_id, state) and finishes the
// runs that completed; shared by finish_tasks and propagate.
constexpr const char* kRunCounters = R"SQL(
d AS (
  SELECT run_id,
         count(*) FILTER (WHERE state NOT IN ('ready'))::int AS n,
         count(*) FILTER (WHERE state IN ('failed','upstream_failed'))::int AS nf
  FROM t GROUP BY run_id
),
r AS (
  UPDATE runs SET
    tasks_done = runs.tasks_done + d.n,
    tasks_failed = runs.tasks_failed + d.nf,
    state = CASE WHEN runs.tasks_done + d.n >= runs.tasks_total THEN
              CASE WHEN runs.cancel_requested AND runs.error IS NULL THEN 'cancelled'
                   WHEN runs.tasks_failed + d.nf > 0 OR runs.error IS NOT NULL THEN 'failed'
                   ELSE 'succeeded' END
            ELSE runs.state END,
    finished_at = CASE WHEN runs.tasks_done + d.n >= runs.tasks_total THEN now()
                       ELSE runs.finished_at END
  FROM d WHERE runs.id = d.run_id AND d.n > 0
  RETURNING runs.id, runs.state
)
)SQL";

}  // namespace

// finish_tasks' dispatch of known ready tasks by id ($6 candidates, $7/$8 the largest claim key);
// a pass without candidates uses the statement without it (a smaller plan to start and run).
constexpr const char* kByIdCtes = R"SQL(
bi AS (  -- `want` is 'ready', compared as a value so that the update below finds its rows by
         -- key: the literal matches the ready index's predicate, and with the statistics of an
         -- emptier queue a generic plan scanned that whole index for every statement
  SELECT * FROM jsonb_to_recordset($7::jsonb) AS x(id bigint, argv jsonb, timeout_ms bigint,
                                                   want text)
),
fair AS (  -- no ready task the engine does not know of comes first
  SELECT NOT EXISTS (
    SELECT 1 FROM task_runs w WHERE w.state = 'ready' AND w.not_before <= now()
      AND (w.priority, w.id) < ($8::int, $9::bigint) AND w.id NOT IN (SELECT id FROM bi)) AS ok
),
bsel AS MATERIALIZED (  -- the known ready tasks whose run is running, looked up by key
  SELECT bi.* FROM bi CROSS JOIN fair
  CROSS JOIN LATERAL (SELECT run_id FROM task_runs WHERE id = bi.id OFFSET 0) c0
  CROSS JOIN LATERAL (SELECT 1 FROM runs WHERE id = c0.run_id AND state = 'running'
                        AND NOT cancel_requested OFFSET 0) r
  WHERE fair.ok
),
byid AS (
  UPDATE task_runs c SET state = 'dispatched', attempt = c.attempt + 1, lease_owner = $3,
    lease_expires_at = now() + make_interval(secs => $4::double precision / 1000),
    executor_ref = $5 || c.id || '-' || (c.attempt + 1),
    deadline = CASE WHEN b.timeout_ms IS NULL THEN NULL
                    ELSE now() + make_interval(secs => b.timeout_ms / 1000.0) END
  FROM bsel b  -- by key: with stale statistics the planner scanned all of task_runs per row
  WHERE c.id = ANY (ARRAY(SELECT id FROM bsel)) AND c.id = b.id AND c.state = b.want AND c.not_before <= now() AND c.pool IS NULL
  RETURNING c.id, c.run_id, c.name, c.spec_index, c.attempt, c.max_attempts, b.argv
),
)SQL";
constexpr const char* kNoByIdCtes = R"SQL(
byid AS (SELECT NULL::bigint AS id, NULL::bigint AS run_id, NULL::text AS name,
                NULL::int AS spec_index, NULL::int AS attempt, NULL::int AS max_attempts,
                NULL::jsonb AS argv WHERE false),
)SQL";

// The segment CTEs (DirectDispatch::done); a statement without done children uses empty ones
// (a smaller plan to start: every statement of a fan-out).
constexpr const char* kSegCtes = R"SQL(
sc AS MATERIALIZED (  -- a segment's steps (DirectDispatch::done), each as the engine expects it
  SELECT s.* FROM fc s
  CROSS JOIN LATERAL (SELECT 1 FROM task_runs c WHERE c.id = s.id AND c.run_id = s.run_id
    AND c.state = 'pending' AND c.attempt = 0 AND c.pending_deps = 1 AND c.pool IS NULL
    OFFSET 0) c0
  CROSS JOIN LATERAL (SELECT 1 FROM runs r WHERE r.id = s.run_id AND r.state = 'running'
    AND NOT r.cancel_requested OFFSET 0) r0
  WHERE s.fin IS NOT NULL
    AND EXISTS (SELECT 1 FROM t WHERE t.id = s.after_id AND t.state IN ('succeeded','cached'))
),
seg AS (  -- all of them or none
  UPDATE task_runs c SET state = sc.fin, attempt = 1, pending_deps = 0, outputs = '{}',
    error = NULL, exit_code = sc.exit_code, started_at = coalesce(sc.started_at, now()),
    finished_at = coalesce(sc.finished_at, now()), executor_ref = $5 || c.id || '-1',
    lease_owner = NULL, lease_expires_at = NULL, deadline = NULL
  FROM sc
  WHERE c.id = sc.id
    AND (SELECT count(*) FROM sc) = (SELECT count(*) FROM fc WHERE fin IS NOT NULL)
    AND @DEPLOYED = $6::jsonb
  RETURNING c.id, c.run_id, c.name, c.state, c.spec_index, c.attempt, c.max_attempts, sc.argv,
            c.exit_code, c.started_at, c.finished_at, sc.seq
),
)SQL";
constexpr const char* kNoSegCtes = R"SQL(
seg AS (SELECT NULL::bigint AS id, NULL::bigint AS run_id, NULL::text AS name, NULL::text AS state,
               NULL::int AS spec_index, NULL::int AS attempt, NULL::int AS max_attempts,
               NULL::jsonb AS argv, NULL::int AS exit_code, NULL::timestamptz AS started_at,
               NULL::timestamptz AS finished_at, NULL::int AS seq
        WHERE false AND $6::jsonb IS NOT NULL),  -- $6 still typed
)SQL";

// The children of the succeeded tasks (k), readied or dispatched directly (kids).
constexpr const char* kKidsCtes = R"SQL(
k AS MATERIALIZED (  -- children of succeeded tasks: how many parents finished; may they go
                    -- directly? (OFFSET 0 and MATERIALIZED keep each lookup by key: a generic
                    -- plan otherwise scanned every edge and joined the finished tasks to it)
  SELECT e.child_id, e.n, fc.argv, fc.timeout_ms, fc.pre,
         (fc.run_id IS NOT NULL AND r.state = 'running' AND NOT r.cancel_requested AND
          (q.empty OR fc.pre IS TRUE)) AS fast
  FROM (SELECT te.child_id, count(*)::int AS n
        FROM (SELECT id FROM t WHERE t.state IN ('succeeded','cached')
              UNION ALL SELECT id FROM seg) p
        CROSS JOIN LATERAL (SELECT child_id FROM task_edges WHERE parent_id = p.id OFFSET 0) te
        WHERE te.child_id NOT IN (SELECT id FROM seg) GROUP BY te.child_id) e
  CROSS JOIN LATERAL (SELECT run_id, spec_index FROM task_runs WHERE id = e.child_id OFFSET 0) c0
  LEFT JOIN fc ON fc.run_id = c0.run_id AND fc.spec_index = c0.spec_index
  LEFT JOIN runs r ON r.id = c0.run_id AND fc.run_id IS NOT NULL
  CROSS JOIN q
),
kids AS (
  UPDATE task_runs c SET pending_deps = c.pending_deps - k.n,
    state = CASE WHEN NOT (c.pending_deps - k.n <= 0 AND c.state = 'pending') THEN c.state
                 WHEN @FAST THEN 'dispatched' ELSE 'ready' END,
    attempt = c.attempt + CASE WHEN @FAST THEN 1 ELSE 0 END,
    lease_owner = CASE WHEN @FAST THEN $3 ELSE c.lease_owner END,
    lease_expires_at = CASE WHEN @FAST
                            THEN now() + make_interval(secs => $4::double precision / 1000)
                            ELSE c.lease_expires_at END,
    executor_ref = CASE WHEN @FAST THEN $5 || c.id || '-' || (c.attempt + 1)
                        ELSE c.executor_ref END,
    deadline = CASE WHEN @FAST AND k.timeout_ms IS NOT NULL
                    THEN now() + make_interval(secs => k.timeout_ms / 1000.0)
                    WHEN @FAST THEN NULL ELSE c.deadline END
  FROM k
  WHERE c.id = k.child_id
  RETURNING c.id, c.run_id, c.name, c.state, c.spec_index, c.attempt, c.max_attempts, k.argv,
            (c.state = 'dispatched' AND k.fast) AS fast, c.priority
),
)SQL";
// When none of the succeeded tasks has children (a fan-out's leaves): a plan without those
// parts, which PostgreSQL starts up and runs for every statement.
constexpr const char* kNoKidsCtes = R"SQL(
kids AS (SELECT NULL::bigint AS id, NULL::bigint AS run_id, NULL::text AS name, NULL::text AS state,
                NULL::int AS spec_index, NULL::int AS attempt, NULL::int AS max_attempts,
                NULL::jsonb AS argv, NULL::boolean AS fast, NULL::int AS priority
         WHERE false AND $4::double precision IS NOT NULL),  -- $4 still typed
)SQL";

// The statement of finish_tasks, in its six forms (with known ready tasks to dispatch by id,
// with a segment or without children), each put together once.
std::string build_finish_sql(bool by_id, bool segment, bool leaves) {
  // A child is dispatched directly when this finish readies it and `fast` holds (fc: the
  // children the engine prepared; q: no other ready task waits, unless the engine already
  // started the child's first attempt: `pre`).
  constexpr const char* kFast =
      "(c.pending_deps - k.n <= 0 AND c.state = 'pending' AND k.fast AND c.pool IS NULL AND "
      "(k.pre IS NOT TRUE OR c.attempt = 0))";
  // The run counters count the segment's steps too.
  std::string run_counters = kRunCounters;
  run_counters.replace(run_counters.find("FROM t GROUP BY"), 15,
                       "FROM (SELECT run_id, state FROM t UNION ALL SELECT run_id, state FROM seg) "
                       "t GROUP BY");
  std::string sql = std::string(R"SQL(
WITH f AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(task_run_id bigint, attempt_id bigint,
    attempt int, state text, attempt_state text, error text, exit_code int, outputs jsonb,
    not_before timestamptz, started_at timestamptz, finished_at timestamptz, cache_key text,
    cache_reason text, cache_components jsonb, refund boolean, live text[])
),
t AS (  -- `live` is ('dispatched','running') as a value, not a literal: with the literal, the
        -- generic plan found the task through the index of active tasks (that predicate), whose
        -- entries of finished tasks a bitmap scan never marks dead: a 1000-step chain read up
        -- to 1000 of them per step instead of one key
  UPDATE task_runs tr SET
    state = f.state,
    error = f.error,
    exit_code = f.exit_code,
    outputs = CASE WHEN f.state IN ('succeeded','cached') THEN coalesce(f.outputs, '{}')
                   ELSE tr.outputs END,
    not_before = coalesce(f.not_before, tr.not_before),
    started_at = coalesce(tr.started_at, f.started_at),
    finished_at = CASE WHEN f.state = 'ready' THEN NULL ELSE coalesce(f.finished_at, now()) END,
    cache_key = coalesce(f.cache_key, tr.cache_key),
    cache_reason = coalesce(f.cache_reason, tr.cache_reason),
    cache_components = coalesce(f.cache_components, tr.cache_components),
    max_attempts = tr.max_attempts + CASE WHEN f.refund THEN 1 ELSE 0 END,
    lease_owner = NULL, lease_expires_at = NULL, deadline = NULL
  FROM f
  WHERE tr.id = f.task_run_id AND tr.attempt = f.attempt AND tr.state = ANY(f.live)
  RETURNING tr.id, tr.run_id, tr.name, tr.state, f.attempt_id, f.attempt_state, f.exit_code,
            f.error, f.started_at, f.finished_at
),
a AS (  -- when its process started (as mark_running records it), not when it was dispatched:
        -- a child started early, or a task waiting its turn in the supervisor (dispatch ahead)
  UPDATE task_attempts ta SET state = t.attempt_state, exit_code = t.exit_code, error = t.error,
    started_at = coalesce(t.started_at, ta.started_at),
    finished_at = coalesce(t.finished_at, now())
  FROM t WHERE ta.id = t.attempt_id
),
fc AS (
  SELECT * FROM jsonb_to_recordset($2::jsonb) AS x(run_id bigint, spec_index int, argv jsonb,
    timeout_ms bigint, pre boolean, id bigint, after_id bigint, seq int, fin text, exit_code int,
    started_at timestamptz, finished_at timestamptz)
),
@SEGq AS (
  SELECT NOT EXISTS (SELECT 1 FROM task_runs w WHERE w.state = 'ready' AND w.not_before <= now())
         AS empty
),
@KIDS@BYIDwent AS (
  SELECT id, run_id, name, spec_index, attempt, max_attempts, argv FROM kids WHERE fast
  UNION ALL SELECT * FROM byid
),
att AS (
  INSERT INTO task_attempts(task_run_id, attempt, state, owner, executor_ref, argv, exit_code,
                            started_at, finished_at)
  SELECT id, attempt, 'dispatched', $3, $5 || id || '-' || attempt, argv, NULL::int, now(),
         NULL::timestamptz FROM went
  UNION ALL
  SELECT id, attempt, state, $3, $5 || id || '-' || attempt, argv, exit_code, started_at,
         finished_at FROM seg
  RETURNING id, task_run_id
),
)SQL") + run_counters +
                    R"SQL(,
ev AS (
  INSERT INTO events(kind, run_id, task_run_id, payload)
  SELECT kind, run_id, tid, payload FROM (
    SELECT 1 AS o, 0 AS s, id AS k, 'task' AS kind, run_id, id AS tid,
           jsonb_build_object('task', name, 'state', state, 'error', error) AS payload FROM t
    UNION ALL
    -- a child dispatched directly was never ready at a commit: only 'dispatched' is recorded
    SELECT 2, 0, id, 'task', run_id, id, jsonb_build_object('task', name, 'state', 'ready')
    FROM kids WHERE state = 'ready'
    UNION ALL  -- a segment's steps in order, each dispatched then ended
    SELECT 1, 1 + seq * 2, id, 'task', run_id, id,
           jsonb_build_object('task', name, 'state', 'dispatched') FROM seg
    UNION ALL
    SELECT 1, 2 + seq * 2, id, 'task', run_id, id,
           jsonb_build_object('task', name, 'state', state, 'error', NULL) FROM seg
    UNION ALL
    SELECT 4, 0, id, 'task', run_id, id, jsonb_build_object('task', name, 'state', 'dispatched')
    FROM went
    UNION ALL
    SELECT 5, 0, id, 'run', id, NULL, jsonb_build_object('state', state) FROM r
    WHERE state IN ('succeeded','failed','cancelled')
  ) e ORDER BY o, s, k
)
SELECT 0 AS kind, id, NULL::bigint, NULL::bigint, NULL::int, NULL::int, NULL::int, NULL::text
FROM t
UNION ALL
SELECT 4, seg.id, seg.run_id, att.id, seg.spec_index, seg.attempt, seg.max_attempts, NULL
FROM seg JOIN att ON att.task_run_id = seg.id
UNION ALL
SELECT 1, went.id, went.run_id, att.id, went.spec_index, went.attempt, went.max_attempts, NULL
FROM went JOIN att ON att.task_run_id = went.id
UNION ALL
SELECT 3, id, run_id, priority, spec_index, attempt, NULL, NULL FROM kids WHERE state = 'ready'
UNION ALL
SELECT 2, NULL, NULL, NULL,
       (NOT q.empty OR EXISTS (SELECT 1 FROM kids WHERE state = 'ready')
        OR EXISTS (SELECT 1 FROM t WHERE state = 'ready'))::int, NULL, NULL,
       CASE WHEN EXISTS (SELECT 1 FROM went) THEN @DEPLOYED::text END
FROM q, (SELECT pg_notify('ctflow_events', CASE WHEN EXISTS (SELECT 1 FROM r WHERE state IN
  ('succeeded','failed','cancelled')) THEN 'run' ELSE '' END)) n  -- 'run': streams read at once
)SQL";
  sql.replace(sql.find("@KIDS"), 5, leaves ? kNoKidsCtes : kKidsCtes);
  for (size_t at; (at = sql.find("@FAST")) != std::string::npos;) sql.replace(at, 5, kFast);
  sql.replace(sql.find("@SEG"), 4, segment ? kSegCtes : kNoSegCtes);
  sql.replace(sql.find("@BYID"), 5, by_id ? kByIdCtes : kNoByIdCtes);
  // The current deployments (registry_sql.hpp): the segment's check and the dispatches' inputs.
  for (size_t at; (at = sql.find("@DEPLOYED")) != std::string::npos;)
    sql.replace(at, 9, kCurrentDeploymentsSql);
  return sql;
}

const std::string& finish_sql(bool by_id, bool segment, bool leaves) {
  static const std::string all[6] = {
      build_finish_sql(false, false, false), build_finish_sql(false, true, false),
      build_finish_sql(true, false, false),  build_finish_sql(true, true, false),
      build_finish_sql(false, false, true),  build_finish_sql(true, false, true)};
  if (leaves) return all[4 + (by_id ? 1 : 0)];  // never with a segment (its children)
  return all[(by_id ? 2 : 0) + (segment ? 1 : 0)];
}

FinishResult finish_tasks(Tx& tx, const std::vector<FinishOp>& ops, const DirectArgs* direct) {
  FinishResult out;
  if (ops.empty()) return out;
  boost::json::array a;
  for (const auto& o : ops) {
    boost::json::object j;
    j["task_run_id"] = o.task_run_id;
    j["attempt_id"] = o.attempt_id;
    j["attempt"] = o.attempt;
    j["state"] = o.state;
    j["attempt_state"] = o.attempt_state;
    if (o.error) j["error"] = *o.error;
    if (o.exit_code) j["exit_code"] = *o.exit_code;
    j["outputs"] = o.outputs;
    if (o.not_before) j["not_before"] = format_iso8601(*o.not_before);
    if (o.started_at) j["started_at"] = format_iso8601(*o.started_at);
    if (o.finished_at) j["finished_at"] = format_iso8601(*o.finished_at);
    if (o.cache_key) j["cache_key"] = *o.cache_key;
    if (o.cache_reason) j["cache_reason"] = *o.cache_reason;
    if (o.cache_components) j["cache_components"] = boost::json::parse(*o.cache_components);
    j["refund"] = o.refund;
    j["live"] = boost::json::array{"dispatched", "running"};
    a.push_back(std::move(j));
  }
  boost::json::array kids, ready;
  if (direct)
    for (const auto& d : direct->ready) {
      boost::json::object j{
          {"id", d.task_run_id}, {"argv", boost::json::value_from(d.argv)}, {"want", "ready"}};
      if (d.timeout_ms) j["timeout_ms"] = *d.timeout_ms;
      ready.push_back(std::move(j));
    }
  if (direct)
    for (const auto& d : direct->children) {
      boost::json::object j{{"run_id", d.run_id},
                            {"spec_index", d.spec_index},
                            {"argv", boost::json::value_from(d.argv)}};
      if (d.timeout_ms) j["timeout_ms"] = *d.timeout_ms;
      if (d.pre) j["pre"] = true;
      if (d.done) {
        j["id"] = d.done->task_run_id;
        j["after_id"] = d.done->after;
        j["seq"] = d.done->seq;
        j["fin"] = "succeeded";
        if (d.done->exit_code) j["exit_code"] = *d.done->exit_code;
        if (d.done->started_at) j["started_at"] = format_iso8601(*d.done->started_at);
        if (d.done->finished_at) j["finished_at"] = format_iso8601(*d.done->finished_at);
      }
      kids.push_back(std::move(j));
    }
  bool by_id = direct && !direct->ready.empty();
  bool segment = false;
  if (direct)
    for (const auto& d : direct->children) segment = segment || d.done.has_value();
  // No children to count down: every task that succeeds is a leaf of its DAG, and no child was
  // prepared (FinishOp::leaf says so only where the engine knows).
  bool leaves = !direct || direct->children.empty();  // so no segment either
  for (const auto& o : ops)
    if (o.state == "succeeded" || o.state == "cached") leaves = leaves && o.leaf;
  const std::string& sql = finish_sql(by_id, segment, leaves);
  std::string name = std::string("finish_tasks") + (by_id ? "_by_id" : "") +
                     (segment ? "_seg" : "") + (leaves ? "_leaves" : "");
  std::string owner = direct ? direct->owner : std::string();
  std::string prefix = direct ? direct->ref_prefix : std::string();
  int64_t lease = direct ? direct->lease_ms : 0;
  int max_prio = direct ? direct->max_key.first : 0;
  int64_t max_id = direct ? direct->max_key.second : 0;
  std::string models = serialize(direct ? direct->models : boost::json::object());
  auto res = by_id ? exec_cached(tx, name, sql, serialize(a), serialize(kids), owner, lease, prefix,
                                 models, serialize(ready), max_prio, max_id)
                   : exec_cached(tx, name, sql, serialize(a), serialize(kids), owner, lease, prefix,
                                 models);
  auto dispatched = [](const pqxx::row& row) {  // kinds 1 and 4
    Dispatched d;
    d.task_run_id = row[1].as<int64_t>();
    d.run_id = row[2].as<int64_t>();
    d.attempt_id = row[3].as<int64_t>();
    d.spec_index = row[4].as<int>();
    d.attempt = row[5].as<int>();
    d.max_attempts = row[6].as<int>();
    return d;
  };
  for (const auto& row : res) {
    int kind = row[0].as<int>();
    if (kind == 0) {
      out.changed.push_back(row[1].as<int64_t>());
    } else if (kind == 1) {
      out.dispatched.push_back(dispatched(row));
    } else if (kind == 4) {
      out.done.push_back(dispatched(row));
      out.changed.push_back(out.done.back().task_run_id);
    } else if (kind == 3) {
      BecameReady b;
      b.task_run_id = row[1].as<int64_t>();
      b.run_id = row[2].as<int64_t>();
      b.priority = static_cast<int>(row[3].as<int64_t>());
      b.spec_index = row[4].as<int>();
      b.attempt = row[5].as<int>();
      out.became_ready.push_back(b);
    } else {
      out.ready_left = row[4].as<int>() != 0;
      out.models = field_object(row[7]);
    }
  }
  return out;
}

void propagate(Tx& tx, const std::vector<int64_t>& roots, const std::string& state) {
  if (roots.empty()) return;
  std::string sql = std::string(R"SQL(
WITH RECURSIVE dsc(id) AS (
  SELECT child_id FROM task_edges WHERE parent_id = ANY($1::bigint[])
  UNION SELECT e.child_id FROM task_edges e JOIN dsc ON e.parent_id = dsc.id
),
t AS (
  UPDATE task_runs tr SET state = $2, finished_at = now()
  FROM dsc WHERE tr.id = dsc.id AND tr.state = 'pending'
  RETURNING tr.id, tr.run_id, tr.name, tr.state
),
)SQL") + kRunCounters +
                    ",\nev AS (" + kEndedEvents + ")\nSELECT count(*) FROM t";
  W(tx).exec_params(sql, id_array(roots), state);
}

}  // namespace ctflow::store
