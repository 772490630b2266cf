#include "scheduler/store/schedules.hpp"

#include "scheduler/common/json_util.hpp"
#include "scheduler/store/engine_ops.hpp"
#include "scheduler/store/internal.hpp"

namespace ctflow::store {

namespace {

std::optional<std::string> iso_opt(const std::optional<TimePoint>& t) {
  if (!t) return std::nullopt;
  return format_iso8601(*t);
}

std::optional<TimePoint> time_of(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return parse_iso8601(f.c_str());
}

constexpr const char* kRowColumns = R"SQL(
s.id, s.pipeline_id, s.pipeline_version_id, p.name, s.cron, s.timezone, s.catchup,
s.concurrency, s.max_active_runs, iso(s.start_at), iso(s.end_at), s.paused,
s.retired_at IS NOT NULL, iso(s.activated_at), iso(s.last_logical_date),
CASE WHEN isfinite(s.next_fire_at) THEN iso(s.next_fire_at) END,
coalesce(s.next_fire_at = 'infinity', false)
)SQL";

ScheduleRow row_of(const pqxx::row& r) {
  ScheduleRow s;
  s.id = r[0].as<int64_t>();
  s.pipeline_id = r[1].as<int64_t>();
  s.version_id = r[2].as<int64_t>();
  s.pipeline = r[3].c_str();
  s.def.cron = r[4].c_str();
  s.def.timezone = r[5].c_str();
  s.def.catchup = r[6].c_str();
  s.def.concurrency = r[7].c_str();
  s.def.max_active_runs = r[8].as<int>();
  s.def.start = time_of(r[9]);
  s.def.end = time_of(r[10]);
  s.paused = r[11].as<bool>();
  s.retired = r[12].as<bool>();
  s.activated_at = time_of(r[13]);
  s.last_logical_date = time_of(r[14]);
  s.next_fire_at = time_of(r[15]);
  s.ended = r[16].as<bool>();
  return s;
}

constexpr const char* kScheduleJson = R"SQL(
jsonb_build_object('pipeline', p.name, 'version', v.digest, 'cron', s.cron,
  'timezone', s.timezone, 'catchup', s.catchup, 'concurrency', s.concurrency,
  'max_active_runs', s.max_active_runs, 'start', iso(s.start_at), 'end', iso(s.end_at),
  'paused', s.paused, 'activated_at', iso(s.activated_at),
  'last_logical_date', iso(s.last_logical_date), 'next_fire_at', CASE WHEN isfinite(s.next_fire_at) THEN iso(s.next_fire_at) END,
  'ended', coalesce(s.next_fire_at = 'infinity', false),
  'created_at', iso(s.created_at), 'updated_at', iso(s.updated_at),
  'fires', (SELECT count(*) FROM schedule_fires f WHERE f.schedule_id = s.id),
  'runs_created', (SELECT count(*) FROM schedule_fires f WHERE f.schedule_id = s.id
                   AND f.run_id IS NOT NULL))
)SQL";

}  // namespace

void upsert_schedule(Tx& tx, int64_t pipeline_id, int64_t version_id,
                     const std::optional<ScheduleDef>& def) {
  auto& w = W(tx);
  if (!def) {
    auto r = w.exec_params(
        "UPDATE schedules SET retired_at = now(), updated_at = now(), pipeline_version_id = $2 "
        "WHERE pipeline_id = $1 AND pipeline_version_id <= $2 AND retired_at IS NULL RETURNING id",
        pipeline_id, version_id);
    // Most pipelines have no schedule: no NOTIFY (a global queue lock at commit) for them.
    if (r.affected_rows() > 0) notify(tx, kScheduleChannel, std::to_string(pipeline_id));
    return;
  }
  w.exec_params(R"SQL(
INSERT INTO schedules(pipeline_id, pipeline_version_id, cron, timezone, catchup, concurrency,
                      max_active_runs, start_at, end_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8::timestamptz, $9::timestamptz)
ON CONFLICT (pipeline_id) DO UPDATE SET
  pipeline_version_id = EXCLUDED.pipeline_version_id, cron = EXCLUDED.cron,
  timezone = EXCLUDED.timezone, catchup = EXCLUDED.catchup, concurrency = EXCLUDED.concurrency,
  max_active_runs = EXCLUDED.max_active_runs, start_at = EXCLUDED.start_at,
  end_at = EXCLUDED.end_at, retired_at = NULL, next_fire_at = NULL, updated_at = now()
WHERE schedules.pipeline_version_id <= EXCLUDED.pipeline_version_id)SQL",
                pipeline_id, version_id, def->cron, def->timezone, def->catchup, def->concurrency,
                def->max_active_runs, opt(iso_opt(def->start)), opt(iso_opt(def->end)));
  notify(tx, kScheduleChannel, std::to_string(pipeline_id));
}

std::vector<int64_t> due_schedule_ids(Tx& tx, TimePoint now, int limit) {
  auto r = W(tx).exec_params(R"SQL(
SELECT id FROM schedules WHERE NOT paused AND retired_at IS NULL
  AND (next_fire_at IS NULL OR next_fire_at <= $1::timestamptz)
ORDER BY next_fire_at NULLS FIRST, id LIMIT $2)SQL",
                             format_iso8601(now), limit);
  std::vector<int64_t> out;
  for (const auto& row : r) out.push_back(row[0].as<int64_t>());
  return out;
}

std::optional<TimePoint> earliest_next_fire(Tx& tx) {
  auto r = W(tx).exec(
      "SELECT iso(min(next_fire_at)) FROM schedules WHERE NOT paused AND retired_at IS NULL AND "
      "isfinite(next_fire_at)");
  return time_of(r[0][0]);
}

std::optional<ScheduleRow> lock_schedule(Tx& tx, int64_t id) {
  auto r = W(tx).exec_params(std::string("SELECT ") + kRowColumns +
                                 " FROM schedules s JOIN pipelines p ON p.id = s.pipeline_id "
                                 "WHERE s.id = $1 FOR UPDATE OF s SKIP LOCKED",
                             id);
  if (r.empty()) return std::nullopt;
  return row_of(r[0]);
}

std::optional<ScheduleRow> lock_schedule_of(Tx& tx, const std::string& pipeline) {
  auto r = W(tx).exec_params(std::string("SELECT ") + kRowColumns +
                                 " FROM schedules s JOIN pipelines p ON p.id = s.pipeline_id "
                                 "WHERE p.name = $1 AND s.retired_at IS NULL FOR UPDATE OF s",
                             pipeline);
  if (r.empty()) return std::nullopt;
  return row_of(r[0]);
}

void set_schedule_progress(Tx& tx, int64_t id, std::optional<TimePoint> activated_at,
                           std::optional<TimePoint> last_logical_date,
                           std::optional<TimePoint> next_fire_at) {
  W(tx).exec_params(R"SQL(
UPDATE schedules SET activated_at = coalesce(activated_at, $2::timestamptz),
  last_logical_date = $3::timestamptz,
  next_fire_at = coalesce($4::timestamptz, 'infinity')
WHERE id = $1)SQL",
                    id, opt(iso_opt(activated_at)), opt(iso_opt(last_logical_date)),
                    opt(iso_opt(next_fire_at)));
}

bool set_paused(Tx& tx, const std::string& pipeline, bool paused) {
  auto r = W(tx).exec_params(R"SQL(
UPDATE schedules s SET paused = $2, updated_at = now() FROM pipelines p
WHERE p.id = s.pipeline_id AND p.name = $1 AND s.retired_at IS NULL RETURNING s.id)SQL",
                             pipeline, paused);
  if (r.empty()) return false;
  notify(tx, kScheduleChannel, r[0][0].c_str());
  return true;
}

std::vector<int64_t> active_runs(Tx& tx, int64_t pipeline_id) {
  auto r = W(tx).exec_params(
      "SELECT id FROM runs WHERE pipeline_id = $1 AND state IN ('queued','running') ORDER BY id",
      pipeline_id);
  std::vector<int64_t> out;
  for (const auto& row : r) out.push_back(row[0].as<int64_t>());
  return out;
}

std::optional<int64_t> insert_fire(Tx& tx, int64_t schedule_id, TimePoint logical_date,
                                   const std::string& kind, const std::string& outcome,
                                   const std::optional<std::string>& error) {
  auto r = W(tx).exec_params(R"SQL(
INSERT INTO schedule_fires(schedule_id, logical_date, kind, outcome, error)
VALUES ($1, $2::timestamptz, $3, $4, $5)
ON CONFLICT (schedule_id, logical_date) DO NOTHING RETURNING id)SQL",
                             schedule_id, format_iso8601(logical_date), kind, outcome, opt(error));
  if (r.empty()) return std::nullopt;
  return r[0][0].as<int64_t>();
}

void attach_fire_run(Tx& tx, int64_t fire_id, int64_t schedule_id, int64_t run_id) {
  auto& w = W(tx);
  w.exec_params("UPDATE schedule_fires SET run_id = $2 WHERE id = $1", fire_id, run_id);
  w.exec_params("UPDATE runs SET schedule_id = $2 WHERE id = $1", run_id, schedule_id);
}

boost::json::array list_schedules(Tx& tx) {
  auto res = W(tx).exec(std::string("SELECT ") + kScheduleJson + R"SQL(::text
FROM schedules s JOIN pipelines p ON p.id = s.pipeline_id
JOIN pipeline_versions v ON v.id = s.pipeline_version_id
WHERE s.retired_at IS NULL ORDER BY p.name)SQL");
  boost::json::array out;
  for (const auto& row : res) out.push_back(field_json(row[0]));
  return out;
}

std::optional<boost::json::object> get_schedule(Tx& tx, const std::string& pipeline, int fires) {
  auto res = W(tx).exec_params(std::string("SELECT ") + kScheduleJson + R"SQL(::text, s.id
FROM schedules s JOIN pipelines p ON p.id = s.pipeline_id
JOIN pipeline_versions v ON v.id = s.pipeline_version_id
WHERE p.name = $1 AND s.retired_at IS NULL)SQL",
                               pipeline);
  if (res.empty()) return std::nullopt;
  auto out = field_json(res[0][0]).as_object();
  auto fr = W(tx).exec_params(R"SQL(
SELECT jsonb_build_object('logical_date', iso(logical_date), 'kind', kind, 'outcome', outcome,
  'run_id', run_id::text, 'fired_at', iso(fired_at), 'error', error)::text
FROM schedule_fires WHERE schedule_id = $1 ORDER BY logical_date DESC LIMIT $2)SQL",
                              res[0][1].as<int64_t>(), fires);
  boost::json::array recent;
  for (const auto& row : fr) recent.push_back(field_json(row[0]));
  out["recent_fires"] = std::move(recent);
  return out;
}

}  // namespace ctflow::store
