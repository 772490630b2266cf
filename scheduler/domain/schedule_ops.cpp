#include "scheduler/domain/schedule_ops.hpp"

#include <set>
#include <string_view>
#include <unordered_map>

#include "scheduler/common/crash_point.hpp"
#include "scheduler/common/log.hpp"
#include "scheduler/cron/schedule.hpp"
#include "scheduler/domain/submit.hpp"
#include "scheduler/spec/params.hpp"
#include "scheduler/spec/parse.hpp"
#include "scheduler/store/engine_ops.hpp"
#include "scheduler/store/runs.hpp"
#include "scheduler/store/schedules.hpp"

namespace ctflow::domain {

void store_schedule(store::Tx& tx, int64_t pipeline_id, int64_t version_id,
                    const spec::Pipeline& p) {
  std::optional<store::ScheduleDef> def;
  if (p.schedule) {
    const auto& s = *p.schedule;
    def = store::ScheduleDef{s.cron,  s.timezone, s.catchup, s.concurrency, s.max_active_runs,
                             s.start, s.end};
  }
  store::upsert_schedule(tx, pipeline_id, version_id, def);
}

FireDecision decide_fire(std::string_view concurrency, bool any_active) {
  if (!any_active || concurrency == "allow") return FireDecision::Create;
  return concurrency == "forbid" ? FireDecision::SkipForbid : FireDecision::Replace;
}

Result<std::vector<std::string>> rerun_reuse(const spec::Pipeline& p, const std::string& task,
                                             const std::map<std::string, std::string>& old_states,
                                             int64_t old_run) {
  int from = p.task_index(task);
  if (from < 0) return ctflow::Error{"task \"" + task + "\" is not a task of pipeline " + p.name};
  // Descendants of `task`: tasks are in declaration order, not topological, so iterate to a
  // fixed point (a DAG of n tasks needs at most n rounds; each round is O(edges)).
  std::set<std::string> rerun{task};
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& t : p.tasks)
      if (!rerun.count(t.name))
        for (const auto& n : t.needs)
          if (rerun.count(n)) {
            rerun.insert(t.name);
            grew = true;
            break;
          }
  }
  // Ancestors of `task` must have succeeded: their outputs are what `task` reads. (Names to
  // tasks once: Pipeline::task is a linear search, O(tasks^2) over a long chain.)
  std::unordered_map<std::string_view, const spec::Task*> by_name;
  for (const auto& t : p.tasks) by_name.emplace(t.name, &t);
  std::set<std::string> ancestors;
  std::vector<std::string> stack(p.tasks[from].needs.begin(), p.tasks[from].needs.end());
  while (!stack.empty()) {
    std::string n = stack.back();
    stack.pop_back();
    if (!ancestors.insert(n).second) continue;
    for (const auto& m : by_name.at(n)->needs) stack.push_back(m);
  }
  auto ok = [&](const std::string& name) {
    auto it = old_states.find(name);
    return it != old_states.end() && (it->second == "succeeded" || it->second == "cached");
  };
  for (const auto& a : ancestors)
    if (!ok(a)) {
      auto it = old_states.find(a);
      return ctflow::Error{"task \"" + a + "\" upstream of \"" + task + "\" ended " +
                           (it == old_states.end() ? std::string("nowhere") : it->second) +
                           " in run " + std::to_string(old_run) + "; rerun from it instead"};
    }
  std::vector<std::string> reuse;
  for (const auto& t : p.tasks)
    if (!rerun.count(t.name) && ok(t.name)) reuse.push_back(t.name);
  return reuse;
}

const spec::Pipeline* SpecCache::get(store::Tx& tx, int64_t version_id) {
  auto it = specs_.find(version_id);
  if (it != specs_.end()) return it->second.get();
  auto text = store::version_spec(tx, version_id);
  if (!text) return nullptr;
  auto r = spec::parse_stored_pipeline(*text);
  if (!r.pipeline) {
    log::error("pipeline version {}: stored spec does not parse: {}", version_id,
               r.errors.empty() ? "" : r.errors[0]);
    return nullptr;
  }
  auto& slot = specs_[version_id];
  slot = std::make_unique<spec::Pipeline>(std::move(*r.pipeline));
  return slot.get();
}

namespace {

std::optional<cron::Schedule> schedule_of(const store::ScheduleRow& row,
                                          std::optional<TimePoint> start) {
  auto s = cron::make_schedule(row.def.cron, row.def.timezone, row.def.catchup, start, row.def.end);
  if (!s) {
    log::error("schedule of {}: {}", row.pipeline, s.error());
    return std::nullopt;
  }
  return *s;
}

struct FireOutcome {
  enum Kind { Created, Replaced, Skipped, Failed, Existed } kind = Existed;
  int64_t run_id = 0;
};

// One fire of a locked schedule: the policy, the fire row, the run. `active` holds the
// pipeline's queued/running runs and is kept current as runs are created or replaced.
FireOutcome apply_fire(store::Tx& tx, const store::ScheduleRow& row, const spec::Pipeline& p,
                       const cron::Fire& fire, const std::string& kind,
                       std::vector<int64_t>& active) {
  auto decision =
      kind == "backfill" ? FireDecision::Create : decide_fire(row.def.concurrency, !active.empty());
  if (decision == FireDecision::SkipForbid) {
    bool inserted =
        store::insert_fire(tx, row.id, fire.logical_date, kind, "skipped_forbid").has_value();
    return {inserted ? FireOutcome::Skipped : FireOutcome::Existed, 0};
  }
  auto params = spec::resolve_params(p, {}, {});
  if (!params) {
    bool inserted =
        store::insert_fire(tx, row.id, fire.logical_date, kind, "failed", params.error())
            .has_value();
    return {inserted ? FireOutcome::Failed : FireOutcome::Existed, 0};
  }
  bool replace = decision == FireDecision::Replace;
  auto fire_id =
      store::insert_fire(tx, row.id, fire.logical_date, kind, replace ? "replaced" : "created");
  if (!fire_id) return {FireOutcome::Existed, 0};
  if (replace) {
    for (int64_t id : active) store::request_cancel(tx, id);
    active.clear();
  }
  RunExtras extras;
  extras.data_interval_start = fire.data_interval_start;
  extras.data_interval_end = fire.data_interval_end;
  if (row.def.max_active_runs > 0) extras.concurrency = row.def.max_active_runs;
  int64_t run_id = create_run(tx, row.version_id, p, *params, kind, fire.logical_date, extras);
  store::attach_fire_run(tx, *fire_id, row.id, run_id);
  active.push_back(run_id);
  return {replace ? FireOutcome::Replaced : FireOutcome::Created, run_id};
}

void count(TickResult& r, const FireOutcome& o) {
  switch (o.kind) {
    case FireOutcome::Created:
      ++r.created;
      break;
    case FireOutcome::Replaced:
      ++r.replaced;
      break;
    case FireOutcome::Skipped:
      ++r.skipped;
      break;
    case FireOutcome::Failed:
      ++r.failed;
      break;
    case FireOutcome::Existed:
      ++r.existed;
      break;
  }
  if (o.run_id) r.run_ids.push_back(o.run_id);
}

void emit_schedule_event(store::Tx& tx, const store::ScheduleRow& row, const std::string& kind,
                         const TickResult& r, const std::vector<std::string>& dates) {
  boost::json::array d;
  for (const auto& s : dates) d.emplace_back(s);
  boost::json::array runs;
  for (int64_t id : r.run_ids) runs.emplace_back(std::to_string(id));
  store::emit_event(tx, "schedule", std::nullopt, std::nullopt,
                    {{"pipeline", row.pipeline},
                     {"kind", kind},
                     {"logical_dates", std::move(d)},
                     {"runs", std::move(runs)},
                     {"created", r.created + r.replaced},
                     {"skipped", r.skipped},
                     {"replaced", r.replaced},
                     {"failed", r.failed}});
  store::notify(tx, "ctflow_events", "schedule");
}

Error no_schedule(const std::string& pipeline) {
  return not_found("pipeline \"" + pipeline + "\" has no schedule");
}

}  // namespace

TickResult fire_schedule(store::Tx& tx, int64_t schedule_id, TimePoint now, SpecCache& specs,
                         size_t max_fires) {
  TickResult out;
  auto row = store::lock_schedule(tx, schedule_id);
  if (!row) {
    out.locked_elsewhere = true;
    return out;
  }
  if (row->paused || row->retired) return out;
  // A schedule without `start` that never fired owes nothing from before its activation.
  TimePoint activation = row->activated_at.value_or(now);
  auto sched = schedule_of(*row, row->def.start ? row->def.start : activation);
  const spec::Pipeline* p = specs.get(tx, row->version_id);
  if (!sched || !p) {  // cannot fire (logged); look again in a day rather than every tick
    store::set_schedule_progress(tx, row->id, activation, row->last_logical_date,
                                 now + std::chrono::hours(24));
    return out;
  }
  auto due = cron::due_fires(*sched, row->last_logical_date, now, max_fires);
  std::vector<int64_t> active;
  if (!due.fires.empty() && row->def.concurrency != "allow")
    active = store::active_runs(tx, row->pipeline_id);
  std::vector<std::string> dates;
  for (const auto& f : due.fires) {
    count(out, apply_fire(tx, *row, *p, f, "schedule", active));
    dates.push_back(format_iso8601(f.logical_date));
  }
  if (out.created + out.replaced > 0) {  // run rows inserted, the schedule's progress not saved
    crash::point("cron:before-commit");
    crash::at_commit("cron:after-commit");
  }
  auto last = due.fires.empty() ? row->last_logical_date : due.fires.back().logical_date;
  out.more = due.more;
  // With more owed, stay due (the last fire is <= now); else sleep until the next fire.
  auto next = due.more ? last : due.next_fire;
  store::set_schedule_progress(tx, row->id, activation, last, next);
  if (!due.fires.empty()) {
    emit_schedule_event(tx, *row, "schedule", out, dates);
    // Replicas that found the row locked wait for this rather than retrying at once.
    store::notify(tx, store::kScheduleChannel, std::to_string(row->id));
  }
  return out;
}

Outcome<int64_t> trigger_schedule(store::Tx& tx, const std::string& pipeline, TimePoint now,
                                  SpecCache& specs) {
  auto row = store::lock_schedule_of(tx, pipeline);
  if (!row) return no_schedule(pipeline);
  auto tz = cron::TimeZone::load(row->def.timezone);
  auto expr = cron::parse_cron(row->def.cron);
  const spec::Pipeline* p = specs.get(tx, row->version_id);
  if (!tz || !expr || !p) return internal("schedule of " + pipeline + " cannot be read");
  auto fire = cron::make_fire(*expr, *tz, now);  // data interval: [previous cron fire, now]
  std::vector<int64_t> active;
  if (row->def.concurrency != "allow") active = store::active_runs(tx, row->pipeline_id);
  auto o = apply_fire(tx, *row, *p, fire, "trigger", active);
  TickResult r;
  count(r, o);
  if (o.kind == FireOutcome::Existed)
    return conflict("logical date " + format_iso8601(now) + " of " + pipeline +
                    " was fired already");
  emit_schedule_event(tx, *row, "trigger", r, {format_iso8601(now)});
  if (o.kind == FireOutcome::Skipped)
    return conflict("concurrency forbid: " + pipeline +
                    " has an active run; fire recorded skipped");
  if (o.kind == FireOutcome::Failed)
    return invalid("pipeline " + pipeline + " cannot run without params", "bad_params");
  return o.run_id;
}

Outcome<BackfillResult> backfill(store::Tx& tx, const std::string& pipeline, TimePoint from,
                                 TimePoint to, SpecCache& specs) {
  auto row = store::lock_schedule_of(tx, pipeline);
  if (!row) return no_schedule(pipeline);
  auto tz = cron::TimeZone::load(row->def.timezone);
  auto expr = cron::parse_cron(row->def.cron);
  const spec::Pipeline* p = specs.get(tx, row->version_id);
  if (!tz || !expr || !p) return internal("schedule of " + pipeline + " cannot be read");
  auto fires = cron::fires_between(*expr, *tz, from, to);
  if (!fires) return invalid(fires.error());
  BackfillResult out;
  TickResult r;
  std::vector<int64_t> active;
  for (const auto& f : *fires) {
    out.logical_dates.push_back(format_iso8601(f.logical_date));
    count(r, apply_fire(tx, *row, *p, f, "backfill", active));
  }
  out.created = r.run_ids;
  out.existed = r.existed;
  if (!r.run_ids.empty()) emit_schedule_event(tx, *row, "backfill", r, out.logical_dates);
  return out;
}

Outcome<int64_t> rerun_from(store::Tx& tx, int64_t run_id, const std::string& task,
                            SpecCache& specs) {
  auto src = store::run_source(tx, run_id);
  if (!src) return not_found("run " + std::to_string(run_id) + " does not exist");
  const spec::Pipeline* p = specs.get(tx, src->pipeline_version_id);
  if (!p) return internal("the version of run " + std::to_string(run_id) + " cannot be read");
  auto reuse = rerun_reuse(*p, task, src->task_states, run_id);
  if (!reuse) return invalid(reuse.error());
  RunExtras extras;
  extras.data_interval_start = src->data_interval_start;
  extras.data_interval_end = src->data_interval_end;
  int64_t id =
      create_run(tx, src->pipeline_version_id, *p, src->params, "rerun", src->logical_date, extras);
  store::reuse_tasks(tx, run_id, id, *reuse);
  return id;
}

}  // namespace ctflow::domain
