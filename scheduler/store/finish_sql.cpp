// The statement of finish_tasks, put together from named parts (finish_sql.hpp).
#include "scheduler/store/finish_sql.hpp"
#include "scheduler/store/registry_sql.hpp"

#include <stdexcept>
#include <vector>

namespace ctflow::store {

namespace {

// The run counters, around the source of the final transitions (see run_counters).
constexpr const char* kRunCountsHead = R"SQL(
d AS (
  SELECT run_id,
         count(*) FILTER (WHERE state NOT IN ('ready'))::int AS n,
         count(*) FILTER (WHERE state IN ('failed','upstream_failed'))::int AS nf
  FROM )SQL";
constexpr const char* kRunCountsTail = R"SQL( GROUP BY run_id
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

std::string run_counters(std::string_view source) {
  return std::string(kRunCountsHead).append(source) + kRunCountsTail;
}

namespace {

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
    AND )SQL" CTFLOW_DEPLOYED R"SQL( = $6::jsonb
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

// A child is dispatched directly when this finish readies it and may go fast (fc: the children
// the engine prepared; q: no other ready task waits, unless the engine already started the
// child's first attempt: `pre`).
#define CTFLOW_FAST                                                                       \
  "(c.pending_deps - k.n <= 0 AND c.state = 'pending' AND k.fast AND c.pool IS NULL AND " \
  "(k.pre IS NOT TRUE OR c.attempt = 0))"

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
                 WHEN )SQL" CTFLOW_FAST R"SQL( THEN 'dispatched' ELSE 'ready' END,
    attempt = c.attempt + CASE WHEN )SQL" CTFLOW_FAST R"SQL( THEN 1 ELSE 0 END,
    lease_owner = CASE WHEN )SQL" CTFLOW_FAST R"SQL( THEN $3 ELSE c.lease_owner END,
    lease_expires_at = CASE WHEN )SQL" CTFLOW_FAST R"SQL(
                            THEN now() + make_interval(secs => $4::double precision / 1000)
                            ELSE c.lease_expires_at END,
    executor_ref = CASE WHEN )SQL" CTFLOW_FAST R"SQL( THEN $5 || c.id || '-' || (c.attempt + 1)
                        ELSE c.executor_ref END,
    deadline = CASE WHEN )SQL" CTFLOW_FAST R"SQL( AND k.timeout_ms IS NOT NULL
                    THEN now() + make_interval(secs => k.timeout_ms / 1000.0)
                    WHEN )SQL" CTFLOW_FAST R"SQL( THEN NULL ELSE c.deadline END
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

// finish_tasks' statement: the finishes (f, t, a) and the children the engine prepared (fc);
// the segment (seg); whether other ready tasks wait (q); the children readied or dispatched
// (k, kids); known ready tasks dispatched by id (bi, fair, bsel, byid); the attempts of what
// was dispatched (went, att); the run counters (d, r); events (ev); and the result rows, one
// kind per FinishRow (finish_sql.hpp).
constexpr const char* kFinishedCtes = R"SQL(
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
)SQL";
constexpr const char* kReadyQueueCte = R"SQL(q AS (
  SELECT NOT EXISTS (SELECT 1 FROM task_runs w WHERE w.state = 'ready' AND w.not_before <= now())
         AS empty
),
)SQL";
constexpr const char* kDispatchCtes = R"SQL(went AS (
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
)SQL";
constexpr const char* kEventsAndRows = R"SQL(,
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
       CASE WHEN EXISTS (SELECT 1 FROM went) THEN )SQL" CTFLOW_DEPLOYED R"SQL(::text END
FROM q, (SELECT pg_notify('ctflow_events', CASE WHEN EXISTS (SELECT 1 FROM r WHERE state IN
  ('succeeded','failed','cancelled')) THEN 'run' ELSE '' END)) n  -- 'run': streams read at once
)SQL";

}  // namespace

std::string build_finish_sql(FinishForm form) {
  return std::string(kFinishedCtes) + (form.segment ? kSegCtes : kNoSegCtes) + kReadyQueueCte +
         (form.leaves ? kNoKidsCtes : kKidsCtes) + (form.by_id ? kByIdCtes : kNoByIdCtes) +
         kDispatchCtes +
         // The run counters count a segment's steps too.
         run_counters("(SELECT run_id, state FROM t UNION ALL SELECT run_id, state FROM seg) t") +
         kEventsAndRows;
}

const std::string& finish_sql(FinishForm form) {
  static const std::vector<std::string> all = [] {
    std::vector<std::string> v;
    for (const auto& f : kFinishForms) v.push_back(build_finish_sql(f));
    return v;
  }();
  for (size_t i = 0; i < kFinishForms.size(); ++i)
    if (kFinishForms[i] == form) return all[i];
  throw std::logic_error("finish_sql: no such form (a segment is never all leaves)");
}

}  // namespace ctflow::store
