// Read models of the dashboard (see dashboard.hpp).
#include "scheduler/store/dashboard.hpp"

#include <algorithm>
#include <map>

#include "scheduler/store/internal.hpp"

namespace ctflow::store {

int64_t last_event_id(Tx& tx) {
  auto r = W(tx).exec("SELECT coalesce(max(id), 0) FROM events");
  return r[0][0].as<int64_t>();
}

std::optional<boost::json::object> pipeline_grid(Tx& tx, const std::string& pipeline, int runs) {
  auto& w = W(tx);
  auto p = w.exec_params("SELECT id FROM pipelines WHERE name = $1", pipeline);
  if (p.empty()) return std::nullopt;
  int64_t pid = p[0][0].as<int64_t>();
  auto rs = w.exec_params(R"SQL(
SELECT r.id, r.state, iso(r.created_at),
  (extract(epoch FROM (coalesce(r.finished_at, now()) - r.started_at)) * 1000)::bigint
FROM runs r WHERE r.pipeline_id = $1 ORDER BY r.id DESC LIMIT $2)SQL",
                          pid, std::clamp(runs, 1, 200));
  boost::json::array run_rows;
  boost::json::array names;
  if (rs.empty())
    return boost::json::object{{"pipeline", pipeline}, {"tasks", names}, {"runs", run_rows}};
  // Columns: the newest run's top-level tasks in spec order (a trial has a parent task run).
  std::map<std::string, size_t> column;
  auto cols = w.exec_params(R"SQL(
SELECT t.name FROM task_runs t WHERE t.run_id = $1 AND t.parent_task_run_id IS NULL
ORDER BY t.spec_index)SQL",
                            rs[0][0].as<int64_t>());
  for (const auto& c : cols) {
    column.emplace(c[0].c_str(), names.size());
    names.emplace_back(c[0].c_str());
  }
  std::vector<int64_t> ids;
  for (const auto& r : rs) ids.push_back(r[0].as<int64_t>());
  std::string id_list = "{";
  for (size_t i = 0; i < ids.size(); ++i) id_list += (i ? "," : "") + std::to_string(ids[i]);
  id_list += "}";
  auto cells = w.exec_params(R"SQL(
SELECT t.run_id, t.name, t.state FROM task_runs t
WHERE t.run_id = ANY($1::bigint[]) AND t.parent_task_run_id IS NULL)SQL",
                             id_list);
  std::map<int64_t, boost::json::array> by_run;
  for (int64_t id : ids) by_run[id] = boost::json::array(names.size(), nullptr);
  for (const auto& c : cells) {
    auto it = column.find(c[1].c_str());
    if (it == column.end()) continue;
    by_run[c[0].as<int64_t>()][it->second] = c[2].c_str();
  }
  for (const auto& r : rs) {
    int64_t id = r[0].as<int64_t>();
    run_rows.push_back(boost::json::object{
        {"id", std::to_string(id)},
        {"state", r[1].c_str()},
        {"created_at",
         r[2].is_null() ? boost::json::value(nullptr) : boost::json::value(r[2].c_str())},
        {"duration_ms",
         r[3].is_null() ? boost::json::value(nullptr) : boost::json::value(r[3].as<int64_t>())},
        {"cells", std::move(by_run[id])}});
  }
  return boost::json::object{{"pipeline", pipeline}, {"tasks", names}, {"runs", run_rows}};
}

}  // namespace ctflow::store
