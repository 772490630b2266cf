#include "scheduler/domain/submit.hpp"

#include <string_view>
#include <unordered_map>

#include "scheduler/common/json_util.hpp"
#include "scheduler/common/sha256.hpp"
#include "scheduler/domain/schedule_ops.hpp"
#include "scheduler/spec/canonical.hpp"
#include "scheduler/spec/params.hpp"
#include "scheduler/spec/parse.hpp"
#include "scheduler/store/engine_ops.hpp"
#include "scheduler/store/monitors.hpp"
#include "scheduler/store/runs.hpp"

namespace ctflow::domain {

namespace {

Outcome<spec::Pipeline> parse(const std::string& text) {
  auto r = spec::parse_pipeline(text);
  if (r.pipeline) return std::move(*r.pipeline);
  Error e;
  e.kind = ErrorKind::invalid_spec;
  e.details = r.errors;
  e.message = r.errors.size() == 1
                  ? r.errors[0]
                  : std::to_string(r.errors.size()) +
                        " problems in the spec; first: " + (r.errors.empty() ? "" : r.errors[0]);
  return e;
}

// Stores the version (and its pools and schedule); `digest` receives its content address. The
// canonical form is built once here (spec::digest would build it again: ~4 ms a 1000-task spec).
store::StoredVersion store_spec(store::Tx& tx, const spec::Pipeline& p, std::string& digest) {
  std::string canon = canonical_json(spec::to_json(p));
  digest = sha256_hex(canon);
  auto v = store::upsert_pipeline_version(tx, p.name, digest, canon);
  std::vector<std::pair<std::string, int>> pools(p.pools.begin(), p.pools.end());
  store::upsert_pools(tx, pools);
  store_schedule(tx, v.pipeline_id, v.version_id, p);  // schedule_ops.hpp
  std::optional<store::MonitorTarget> monitor;
  if (p.monitor) monitor = store::MonitorTarget{p.monitor->model, p.monitor->alias};
  store::upsert_monitor(tx, v.pipeline_id, v.version_id, monitor);  // scheduler/monitor/
  return v;
}

}  // namespace

int64_t create_run(store::Tx& tx, int64_t version_id, const spec::Pipeline& p,
                   const boost::json::object& params, const std::string& trigger,
                   std::optional<TimePoint> logical_date, const RunExtras& extras) {
  store::NewRun run;
  run.pipeline_version_id = version_id;
  run.params = params;
  run.trigger = trigger;
  run.logical_date = logical_date;
  run.data_interval_start = extras.data_interval_start;
  run.data_interval_end = extras.data_interval_end;
  run.concurrency = extras.concurrency >= 0 ? extras.concurrency : p.concurrency;
  if (p.run_timeout) run.run_timeout_ms = p.run_timeout->count();
  // Names to indexes once: Pipeline::task_index is a linear search, and a lookup per need made a
  // 100,000-task run's submission O(tasks * needs) (minutes; issue 22, make bench-scale).
  std::unordered_map<std::string_view, int> index;
  index.reserve(p.tasks.size());
  for (size_t i = 0; i < p.tasks.size(); ++i) index.emplace(p.tasks[i].name, static_cast<int>(i));
  run.tasks.reserve(p.tasks.size());
  for (size_t i = 0; i < p.tasks.size(); ++i) {
    const auto& t = p.tasks[i];
    store::NewTask nt;
    nt.name = t.name;
    nt.spec_index = static_cast<int>(i);
    for (const auto& n : t.needs) nt.needs.push_back(index.at(n));
    nt.max_attempts = 1 + std::max(0, t.retry.limit);
    nt.priority = t.priority;
    nt.pool = t.pool;
    run.tasks.push_back(std::move(nt));
  }
  return store::insert_run(tx, run);
}

Outcome<SubmitResult> store_version(store::Connection& c, const std::string& spec_text) {
  auto parsed = parse(spec_text);
  if (auto* e = std::get_if<Error>(&parsed)) return *e;
  const auto& p = std::get<spec::Pipeline>(parsed);
  SubmitResult out;
  store::with_tx(c, [&](store::Tx& tx) {
    auto v = store_spec(tx, p, out.digest);
    out.pipeline = p.name;
    out.version_created = v.created;
  });
  return out;
}

Outcome<SubmitResult> submit(store::Connection& c, const SubmitRequest& req) {
  std::optional<spec::Pipeline> pipeline;
  std::optional<int64_t> version_id;
  if (req.spec_text) {
    auto parsed = parse(*req.spec_text);
    if (auto* e = std::get_if<Error>(&parsed)) return *e;
    pipeline = std::move(std::get<spec::Pipeline>(parsed));
  } else if (req.pipeline) {
    std::optional<std::string> text;
    store::with_tx(c, [&](store::Tx& tx) {
      auto info = store::get_pipeline(tx, *req.pipeline);
      if (!info) return;
      const auto& versions = info->at("versions").as_array();
      if (versions.empty()) return;
      text = boost::json::serialize(versions[0].as_object().at("spec"));
    });
    if (!text) return not_found("pipeline \"" + *req.pipeline + "\" does not exist");
    auto parsed = parse(*text);
    if (auto* e = std::get_if<Error>(&parsed)) return *e;
    pipeline = std::move(std::get<spec::Pipeline>(parsed));
  } else {
    return invalid(
        "body: give \"spec\" (YAML or JSON text) or \"pipeline\" (a stored pipeline's name)");
  }
  auto params = spec::resolve_params(*pipeline, req.params_text, req.params_json);
  if (!params) return invalid(params.error(), "bad_params");
  SubmitResult out;
  store::with_tx(c, [&](store::Tx& tx) {
    auto v = store_spec(tx, *pipeline, out.digest);
    version_id = v.version_id;
    out.version_created = v.created;
    out.run_id = create_run(tx, v.version_id, *pipeline, *params, req.trigger, req.logical_date);
  });
  out.pipeline = pipeline->name;
  return out;
}

}  // namespace ctflow::domain
