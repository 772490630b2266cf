#include "scheduler/store/monitors.hpp"

#include <fmt/format.h>

#include "scheduler/store/internal.hpp"

namespace ctflow::store {

namespace {

std::optional<std::string> opt_text(const std::optional<double>& v) {
  if (!v) return std::nullopt;
  return fmt::format("{}", *v);
}

}  // namespace

void upsert_monitor(Tx& tx, int64_t pipeline_id, int64_t version_id,
                    const std::optional<MonitorTarget>& target) {
  auto& w = W(tx);
  if (!target) {
    w.exec_params(
        "UPDATE monitors SET retired_at = now(), updated_at = now(), pipeline_version_id = $2 "
        "WHERE pipeline_id = $1 AND pipeline_version_id <= $2 AND retired_at IS NULL",
        pipeline_id, version_id);
    return;
  }
  w.exec_params(R"SQL(
INSERT INTO monitors(pipeline_id, pipeline_version_id, model, alias) VALUES ($1, $2, $3, $4)
ON CONFLICT (pipeline_id) DO UPDATE SET pipeline_version_id = EXCLUDED.pipeline_version_id,
  model = EXCLUDED.model, alias = EXCLUDED.alias, retired_at = NULL, updated_at = now()
WHERE monitors.pipeline_version_id <= EXCLUDED.pipeline_version_id)SQL",
                pipeline_id, version_id, target->model, target->alias);
}

std::vector<int64_t> live_monitors(Tx& tx) {
  auto r = exec_cached(tx, "monitors_live",
                       "SELECT pipeline_id FROM monitors WHERE retired_at IS NULL ORDER BY "
                       "pipeline_id");
  std::vector<int64_t> out;
  for (const auto& row : r) out.push_back(row[0].as<int64_t>());
  return out;
}

std::optional<MonitorRow> lock_monitor(Tx& tx, int64_t pipeline_id) {
  auto r = exec_cached(tx, "monitors_lock", R"SQL(
SELECT m.pipeline_id, m.pipeline_version_id, p.name, iso(m.last_triggered_at), m.last_run_id
FROM monitors m JOIN pipelines p ON p.id = m.pipeline_id
WHERE m.pipeline_id = $1 AND m.retired_at IS NULL
FOR UPDATE OF m SKIP LOCKED)SQL",
                       pipeline_id);
  if (r.empty()) return std::nullopt;
  MonitorRow m;
  m.pipeline_id = r[0][0].as<int64_t>();
  m.version_id = r[0][1].as<int64_t>();
  m.pipeline = r[0][2].c_str();
  if (!r[0][3].is_null()) m.last_triggered_at = parse_iso8601(r[0][3].c_str());
  if (!r[0][4].is_null()) m.last_run_id = r[0][4].as<int64_t>();
  return m;
}

bool run_active(Tx& tx, int64_t run_id) {
  auto r =
      exec_cached(tx, "monitors_run_active",
                  "SELECT 1 FROM runs WHERE id = $1 AND state IN ('queued', 'running')", run_id);
  return !r.empty();
}

int active_run_count(Tx& tx, int64_t pipeline_id) {
  auto r = exec_cached(tx, "monitors_active_runs",
                       "SELECT count(*) FROM runs WHERE pipeline_id = $1 AND state IN ('queued', "
                       "'running')",
                       pipeline_id);
  return r[0][0].as<int>();
}

bool record_check(Tx& tx, const MonitorCheck& c) {
  std::optional<std::string> version, run;
  if (c.version) version = std::to_string(*c.version);
  if (c.run_id) run = std::to_string(*c.run_id);
  std::optional<std::string> metric, feature;
  if (!c.drift_metric.empty()) metric = c.drift_metric;
  if (!c.drift_feature.empty()) feature = c.drift_feature;
  auto r = exec_cached(tx, "monitors_record_check", R"SQL(
INSERT INTO monitor_checks(pipeline_id, model, alias, version, checked_at, labels, accuracy,
                           drift_metric, drift_feature, drift, crossed, outcome, run_id)
SELECT $1, $2, $3, $4::int, $5::timestamptz, $6, $7::float8, $8, $9, $10::float8, $11::jsonb,
       $12, $13::bigint
WHERE $12 = 'triggered' OR NOT EXISTS (
  SELECT 1 FROM (SELECT * FROM monitor_checks WHERE pipeline_id = $1 ORDER BY id DESC LIMIT 1) l
  WHERE l.version IS NOT DISTINCT FROM $4::int AND l.labels = $6
    AND l.accuracy IS NOT DISTINCT FROM $7::float8 AND l.drift IS NOT DISTINCT FROM $10::float8
    AND l.outcome = $12)
RETURNING id)SQL",
                       c.pipeline_id, c.model, c.alias, version, format_iso8601(c.checked_at),
                       c.labels, opt_text(c.accuracy), metric, feature, opt_text(c.drift),
                       boost::json::serialize(c.crossed), c.outcome, run);
  if (c.outcome == "triggered")
    exec_cached(tx, "monitors_triggered",
                "UPDATE monitors SET last_checked_at = $2, last_triggered_at = $2, last_run_id = "
                "$3, updated_at = now() WHERE pipeline_id = $1",
                c.pipeline_id, format_iso8601(c.checked_at), run);
  else
    exec_cached(tx, "monitors_checked",
                "UPDATE monitors SET last_checked_at = $2 WHERE pipeline_id = $1", c.pipeline_id,
                format_iso8601(c.checked_at));
  return !r.empty();
}

void set_trigger_detail(Tx& tx, int64_t run_id, const boost::json::object& detail) {
  W(tx).exec_params("UPDATE runs SET trigger_detail = $2::jsonb WHERE id = $1", run_id,
                    boost::json::serialize(detail));
}

boost::json::array monitor_checks(Tx& tx, const std::string& model, int limit) {
  auto r = W(tx).exec_params(R"SQL(
SELECT jsonb_build_object('pipeline', p.name, 'alias', m.alias,
  'last_triggered_at', iso(m.last_triggered_at), 'last_run_id', m.last_run_id::text,
  'checks', coalesce((SELECT jsonb_agg(c ORDER BY c.id) FROM (
      SELECT c.id, iso(c.checked_at) AS at, c.version, c.labels, c.accuracy, c.drift_metric,
             c.drift_feature, c.drift, c.crossed, c.outcome, c.run_id::text AS run_id
      FROM monitor_checks c WHERE c.pipeline_id = m.pipeline_id
      ORDER BY c.id DESC LIMIT $2) c), '[]'))::text
FROM monitors m JOIN pipelines p ON p.id = m.pipeline_id
WHERE m.model = $1 AND m.retired_at IS NULL ORDER BY p.name)SQL",
                             model, limit);
  boost::json::array out;
  for (const auto& row : r) out.push_back(boost::json::parse(row[0].c_str()));
  return out;
}

}  // namespace ctflow::store
