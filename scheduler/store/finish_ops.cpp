// finish_tasks and propagate: the transitions that end tasks, ready or dispatch their children,
// and count them on their runs. The statement itself is in finish_sql.cpp.
#include "scheduler/common/json_util.hpp"
#include "scheduler/common/states.hpp"
#include "scheduler/store/engine_ops.hpp"
#include "scheduler/store/finish_sql.hpp"
#include "scheduler/store/internal.hpp"

namespace ctflow::store {

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
    if (o.state == kSucceeded || o.state == kCached) leaves = leaves && o.leaf;
  const std::string& sql = finish_sql({.by_id = by_id, .segment = segment, .leaves = leaves});
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
  auto dispatched = [](const pqxx::row& row) {  // Dispatched and SegmentStep rows
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
    auto kind = static_cast<FinishRow>(row[0].as<int>());
    if (kind == FinishRow::Finished) {
      out.changed.push_back(row[1].as<int64_t>());
    } else if (kind == FinishRow::Dispatched) {
      out.dispatched.push_back(dispatched(row));
    } else if (kind == FinishRow::SegmentStep) {
      out.done.push_back(dispatched(row));
      out.changed.push_back(out.done.back().task_run_id);
    } else if (kind == FinishRow::Readied) {
      BecameReady b;
      b.task_run_id = row[1].as<int64_t>();
      b.run_id = row[2].as<int64_t>();
      b.priority = static_cast<int>(row[3].as<int64_t>());
      b.spec_index = row[4].as<int>();
      b.attempt = row[5].as<int>();
      out.became_ready.push_back(b);
    } else {  // FinishRow::Summary
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
)SQL") + run_counters("t") +
                    ",\nev AS (" + kEndedEvents + ")\nSELECT count(*) FROM t";
  W(tx).exec_params(sql, id_array(roots), state);
}

}  // namespace ctflow::store
