#include "scheduler/store/predictions.hpp"

#include <fmt/format.h>

#include "scheduler/store/engine_ops.hpp"
#include "scheduler/store/internal.hpp"

namespace ctflow::store {

namespace {

std::string num(double x) {
  return fmt::format("{}", x);
}

// A PostgreSQL array literal of numbers.
template <class T, class F>
std::string num_array(const std::vector<T>& items, F f) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + f(items[i]);
  return out + "}";
}

}  // namespace

StoredPredictions store_predictions(Tx& tx, const std::vector<monitor::PredictionRecord>& records) {
  StoredPredictions out;
  std::vector<std::string> ids, models, times, hists;
  ids.reserve(records.size());
  for (const auto& r : records) {
    ids.push_back(r.request_id);
    models.push_back(r.model);
    times.push_back(format_iso8601(r.time));
    std::string h = "{";
    for (size_t i = 0; i < r.hist.size(); ++i) h += (i ? "," : "") + num(r.hist[i]);
    hists.push_back(h + "}");
  }
  auto versions = num_array(
      records, [](const monitor::PredictionRecord& r) { return std::to_string(r.version); });
  // The first record naming a model version that does not exist.
  auto bad = exec_cached(tx, "predictions_unknown_version", R"SQL(
SELECT u.ord, u.model, u.version, m.id IS NULL
FROM unnest($1::text[], $2::int[]) WITH ORDINALITY AS u(model, version, ord)
LEFT JOIN models m ON m.name = u.model
LEFT JOIN model_versions v ON v.model_id = m.id AND v.version = u.version
WHERE v.id IS NULL ORDER BY u.ord LIMIT 1)SQL",
                         text_array(models), versions);
  if (!bad.empty()) {
    out.unknown_index = bad[0][0].as<size_t>() - 1;
    out.unknown_reason =
        bad[0][3].as<bool>()
            ? fmt::format("no model named \"{}\"", bad[0][1].c_str())
            : fmt::format("model {} has no version {}", bad[0][1].c_str(), bad[0][2].c_str());
    return out;
  }
  auto res = exec_cached(
      tx, "predictions_insert", R"SQL(
INSERT INTO predictions(request_id, model_id, version, predicted_at, prediction, latency_ms,
                        mean, ink, hist)
SELECT u.request_id, m.id, u.version, u.predicted_at, u.prediction, u.latency_ms, u.mean, u.ink,
       u.hist::real[]
FROM unnest($1::text[], $2::text[], $3::int[], $4::timestamptz[], $5::smallint[], $6::float8[],
            $7::real[], $8::real[], $9::text[]) WITH ORDINALITY
     AS u(request_id, model, version, predicted_at, prediction, latency_ms, mean, ink, hist, ord)
JOIN models m ON m.name = u.model
ORDER BY u.ord
ON CONFLICT (request_id) DO NOTHING)SQL",
      text_array(ids), text_array(models), versions, text_array(times),
      num_array(records,
                [](const monitor::PredictionRecord& r) { return std::to_string(r.prediction); }),
      num_array(records, [](const monitor::PredictionRecord& r) { return num(r.latency_ms); }),
      num_array(records, [](const monitor::PredictionRecord& r) { return num(r.mean); }),
      num_array(records, [](const monitor::PredictionRecord& r) { return num(r.ink); }),
      text_array(hists));
  out.stored = static_cast<int64_t>(res.affected_rows());
  out.duplicates = static_cast<int64_t>(records.size()) - out.stored;
  return out;
}

bool set_label(Tx& tx, const std::string& request_id, int label) {
  auto r = exec_cached(tx, "predictions_label",
                       "UPDATE predictions SET label = $2, labeled_at = now() "
                       "WHERE request_id = $1 RETURNING (SELECT name FROM models WHERE id = "
                       "model_id)",
                       request_id, label);
  if (r.empty()) return false;
  notify(tx, kPredictionChannel, r[0][0].c_str());
  return true;
}

LabeledPredictions set_labels(Tx& tx, const std::vector<monitor::LabelRecord>& labels) {
  LabeledPredictions out;
  std::vector<std::string> ids;
  for (const auto& l : labels) ids.push_back(l.request_id);
  auto res = exec_cached(tx, "predictions_labels", R"SQL(
WITH input AS (
  SELECT * FROM unnest($1::text[], $2::smallint[]) WITH ORDINALITY AS u(request_id, label, ord)
), upd AS (
  UPDATE predictions p SET label = i.label, labeled_at = now()
  FROM input i WHERE p.request_id = i.request_id
  RETURNING p.request_id, p.model_id
)
SELECT i.request_id, NULL FROM input i
WHERE NOT EXISTS (SELECT 1 FROM upd WHERE upd.request_id = i.request_id)
UNION ALL
SELECT NULL, m.name FROM models m WHERE m.id IN (SELECT model_id FROM upd))SQL",
                         text_array(ids), num_array(labels, [](const monitor::LabelRecord& l) {
                           return std::to_string(l.label);
                         }));
  std::vector<std::string> models;
  for (const auto& row : res) {
    if (!row[0].is_null())
      out.unknown.push_back(row[0].c_str());
    else
      models.push_back(row[1].c_str());
  }
  // The unknown ids in request order (UNION ALL keeps the first branch's order in practice,
  // but say it here rather than rely on it).
  std::vector<std::string> ordered;
  for (const auto& id : ids)
    if (std::find(out.unknown.begin(), out.unknown.end(), id) != out.unknown.end() &&
        std::find(ordered.begin(), ordered.end(), id) == ordered.end())
      ordered.push_back(id);
  out.unknown = std::move(ordered);
  out.labeled = static_cast<int64_t>(labels.size());
  for (const auto& id : ids)
    if (std::find(out.unknown.begin(), out.unknown.end(), id) != out.unknown.end()) --out.labeled;
  for (const auto& m : models) notify(tx, kPredictionChannel, m);
  return out;
}

std::optional<int64_t> model_id(Tx& tx, const std::string& model) {
  auto r = exec_cached(tx, "predictions_model_id", "SELECT id FROM models WHERE name = $1", model);
  if (r.empty()) return std::nullopt;
  return r[0][0].as<int64_t>();
}

std::optional<int64_t> alias_version(Tx& tx, int64_t model_id, const std::string& alias) {
  auto r = exec_cached(tx, "predictions_alias_version",
                       "SELECT version FROM deployments WHERE model_id = $1 AND alias = $2 AND "
                       "superseded_at IS NULL",
                       model_id, alias);
  if (r.empty()) return std::nullopt;
  return r[0][0].as<int64_t>();
}

std::optional<boost::json::object> version_run_params(Tx& tx, int64_t model_id, int64_t version,
                                                      int64_t pipeline_id) {
  auto r = exec_cached(tx, "predictions_version_params",
                       "SELECT r.params::text FROM model_versions v JOIN runs r ON r.id = v.run_id "
                       "WHERE v.model_id = $1 AND v.version = $2 AND r.pipeline_id = $3",
                       model_id, version, pipeline_id);
  if (r.empty()) return std::nullopt;
  auto v = boost::json::parse(r[0][0].c_str());
  if (!v.is_object()) return std::nullopt;
  return v.as_object();
}

std::vector<monitor::Point> prediction_window(Tx& tx, int64_t model_id, int64_t version,
                                              int64_t limit, bool newest, bool labeled) {
  // Four fixed statements (no text assembled from input): the order and the filter each pick
  // one of the two indexes, read from the matching end.
  static const char* const kSql[4] = {
      "SELECT prediction, label, mean, ink FROM predictions WHERE model_id = $1 AND version = $2 "
      "ORDER BY predicted_at, id LIMIT $3",
      "SELECT prediction, label, mean, ink FROM predictions WHERE model_id = $1 AND version = $2 "
      "AND label IS NOT NULL ORDER BY predicted_at, id LIMIT $3",
      "SELECT prediction, label, mean, ink FROM predictions WHERE model_id = $1 AND version = $2 "
      "ORDER BY predicted_at DESC, id DESC LIMIT $3",
      "SELECT prediction, label, mean, ink FROM predictions WHERE model_id = $1 AND version = $2 "
      "AND label IS NOT NULL ORDER BY predicted_at DESC, id DESC LIMIT $3"};
  int k = (newest ? 2 : 0) + (labeled ? 1 : 0);
  auto res =
      exec_cached(tx, "predictions_window_" + std::to_string(k), kSql[k], model_id, version, limit);
  std::vector<monitor::Point> out;
  out.reserve(res.size());
  for (const auto& row : res) {
    monitor::Point p;
    p.prediction = row[0].as<int>();
    if (!row[1].is_null()) p.label = row[1].as<int>();
    p.mean = row[2].as<double>();
    p.ink = row[3].as<double>();
    out.push_back(p);
  }
  return out;
}

int64_t count_predictions(Tx& tx, int64_t model_id, int64_t version, int64_t cap) {
  auto r = exec_cached(tx, "predictions_count",
                       "SELECT count(*) FROM (SELECT 1 FROM predictions WHERE model_id = $1 AND "
                       "version = $2 LIMIT $3) c",
                       model_id, version, cap);
  return r[0][0].as<int64_t>();
}

std::optional<boost::json::object> monitor_series(Tx& tx, const std::string& model, Millis bucket,
                                                  int max_points) {
  auto id = model_id(tx, model);
  if (!id) return std::nullopt;
  const std::string interval = std::to_string(bucket.count()) + " milliseconds";
  // Per version: totals over all its predictions, and buckets over its newest max_points
  // buckets (the range starts at its newest prediction, found through the index).
  auto totals = W(tx).exec_params(R"SQL(
SELECT p.version, count(*), count(p.label), count(*) FILTER (WHERE p.label = p.prediction)
FROM predictions p WHERE p.model_id = $1 GROUP BY p.version ORDER BY p.version DESC)SQL",
                                  *id);
  auto buckets = W(tx).exec_params(R"SQL(
SELECT l.version, iso(date_bin($2::interval, p.predicted_at, '2000-01-01')), count(*),
       count(p.label), count(*) FILTER (WHERE p.label = p.prediction), avg(p.mean), avg(p.ink)
FROM (SELECT v.version,
             (SELECT max(predicted_at) FROM predictions x
              WHERE x.model_id = $1 AND x.version = v.version) AS last
      FROM model_versions v WHERE v.model_id = $1) l
JOIN predictions p ON p.model_id = $1 AND p.version = l.version
 AND p.predicted_at > date_bin($2::interval, l.last, '2000-01-01') - $2::interval * ($3 - 1)
GROUP BY 1, 2 ORDER BY 1 DESC, 2)SQL",
                                   *id, interval, max_points);
  auto acc = [](int64_t labeled, int64_t correct) -> boost::json::value {
    if (labeled == 0) return nullptr;
    return static_cast<double>(correct) / static_cast<double>(labeled);
  };
  boost::json::array versions;
  for (const auto& t : totals) {
    int64_t v = t[0].as<int64_t>();
    boost::json::array series;
    for (const auto& b : buckets) {
      if (b[0].as<int64_t>() != v) continue;
      int64_t labeled = b[3].as<int64_t>(), correct = b[4].as<int64_t>();
      series.push_back({{"at", b[1].c_str()},
                        {"predictions", b[2].as<int64_t>()},
                        {"labeled", labeled},
                        {"correct", correct},
                        {"accuracy", acc(labeled, correct)},
                        {"mean", b[5].as<double>()},
                        {"ink", b[6].as<double>()}});
    }
    int64_t labeled = t[2].as<int64_t>(), correct = t[3].as<int64_t>();
    versions.push_back({{"version", v},
                        {"predictions", t[1].as<int64_t>()},
                        {"labeled", labeled},
                        {"accuracy", acc(labeled, correct)},
                        {"series", std::move(series)}});
  }
  auto aliases = W(tx).exec_params(
      "SELECT coalesce(jsonb_object_agg(alias, version), '{}')::text FROM deployments WHERE "
      "model_id = $1 AND superseded_at IS NULL",
      *id);
  return boost::json::object{{"model", model},
                             {"aliases", boost::json::parse(aliases[0][0].c_str())},
                             {"bucket", format_duration(bucket)},
                             {"versions", std::move(versions)}};
}

}  // namespace ctflow::store
