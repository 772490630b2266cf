#include "scheduler/spec/canonical.hpp"

#include "scheduler/common/json_util.hpp"
#include "scheduler/common/sha256.hpp"

namespace ctflow::spec {
namespace {

namespace json = boost::json;

json::array strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

json::object retry_json(const RetryPolicy& r) {
  return {{"limit", r.limit},
          {"backoff", format_duration(r.backoff)},
          {"factor", r.factor},
          {"max_backoff", format_duration(r.max_backoff)}};
}

json::object space_json(const hpo::SearchSpace& s) {
  json::object o;
  for (const auto& d : s.dims) {
    json::object dim;
    dim["type"] = d.type == hpo::DimType::Float ? "float"
                  : d.type == hpo::DimType::Int ? "int"
                                                : "categorical";
    if (!d.values.empty()) {
      dim["values"] = json::array(d.values.begin(), d.values.end());
    } else {
      if (d.type == hpo::DimType::Int) {
        dim["min"] = static_cast<int64_t>(d.min);
        dim["max"] = static_cast<int64_t>(d.max);
      } else {
        dim["min"] = d.min;
        dim["max"] = d.max;
      }
      if (d.log) dim["log"] = true;
      if (d.step) {
        if (d.type == hpo::DimType::Int)
          dim["step"] = static_cast<int64_t>(*d.step);
        else
          dim["step"] = *d.step;
      }
    }
    o[d.name] = std::move(dim);
  }
  return o;
}

json::object hpo_json(const HpoSpec& h) {
  json::object o{{"algorithm", h.algorithm},
                 {"objective", {{"metric", h.metric}, {"goal", h.goal}}},
                 {"max_trials", h.max_trials},
                 {"parallelism", h.parallelism},
                 {"seed", h.seed},
                 {"space", space_json(h.space)},
                 {"trial", {{"run", strings(h.trial_run)}}}};
  if (h.early_stopping)
    o["early_stopping"] = {{"rule", h.early_stopping->rule},
                           {"min_trials", h.early_stopping->min_trials},
                           {"start_step", h.early_stopping->start_step}};
  return o;
}

json::object string_map(const std::map<std::string, std::string>& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

// Every field that is set (a change of any changes the pipeline's digest); parse_pipeline reads
// it back to the same K8sSpec.
json::object k8s_json(const K8sSpec& k) {
  json::array tol;
  for (const auto& t : k.tolerations) {
    json::object o;
    if (!t.key.empty()) o["key"] = t.key;
    if (!t.op.empty()) o["operator"] = t.op;
    if (!t.value.empty()) o["value"] = t.value;
    if (!t.effect.empty()) o["effect"] = t.effect;
    if (t.seconds) o["tolerationSeconds"] = *t.seconds;
    tol.emplace_back(std::move(o));
  }
  json::object o{
      {"resources", {{"requests", string_map(k.requests)}, {"limits", string_map(k.limits)}}},
      {"nodeSelector", string_map(k.node_selector)},
      {"tolerations", std::move(tol)}};
  if (!k.image.empty()) o["image"] = k.image;
  if (!k.service_account.empty()) o["serviceAccountName"] = k.service_account;
  if (k.ttl_seconds) o["ttlSecondsAfterFinished"] = *k.ttl_seconds;
  return o;
}

json::object task_json(const Task& t) {
  json::object o{{"name", t.name},
                 {"description", t.description},
                 {"needs", strings(t.needs)},
                 {"retry", retry_json(t.retry)},
                 {"cache", t.cache},
                 {"priority", t.priority}};
  if (t.hpo)
    o["hpo"] = hpo_json(*t.hpo);
  else
    o["run"] = strings(t.run);
  json::object env;
  for (const auto& e : t.env) {
    if (e.secret.empty())
      env[e.name] = e.value;
    else
      env[e.name] = {{"secret", e.secret}};
  }
  o["env"] = std::move(env);
  if (t.when) o["when"] = t.when->text;
  if (!t.pool.empty()) o["pool"] = t.pool;
  if (t.timeout) o["timeout"] = format_duration(*t.timeout);
  if (t.executor != "local") {
    o["executor"] = t.executor;
    o["k8s"] = k8s_json(t.k8s);
  }
  return o;
}

}  // namespace

json::value to_json(const Pipeline& p) {
  json::object o{{"name", p.name}, {"description", p.description}, {"concurrency", p.concurrency}};
  json::object params;
  for (const auto& param : p.params) {
    json::object po{{"type", param_type_name(param.type)}, {"description", param.description}};
    if (param.default_value) po["default"] = *param.default_value;
    params[param.name] = std::move(po);
  }
  o["params"] = std::move(params);
  json::object pools;
  for (const auto& [name, slots] : p.pools) pools[name] = slots;
  o["pools"] = std::move(pools);
  if (p.run_timeout) o["run_timeout"] = format_duration(*p.run_timeout);
  if (p.schedule) {
    const Schedule& s = *p.schedule;
    json::object so{{"cron", s.cron},
                    {"timezone", s.timezone},
                    {"catchup", s.catchup},
                    {"concurrency", s.concurrency},
                    {"max_active_runs", s.max_active_runs}};
    if (s.start) so["start"] = format_iso8601(*s.start);
    if (s.end) so["end"] = format_iso8601(*s.end);
    o["schedule"] = std::move(so);
  }
  if (p.monitor) {  // only when present: specs without one keep their digests
    const Monitor& m = *p.monitor;
    json::object mo{{"model", m.model},
                    {"alias", m.alias},
                    {"window", m.window},
                    {"min_labels", m.min_labels},
                    {"cooldown", format_duration(m.cooldown)}};
    if (m.accuracy_below) mo["accuracy_below"] = *m.accuracy_below;
    if (m.drift)
      mo["drift"] = {{"metric", m.drift->metric},
                     {"feature", m.drift->feature},
                     {"threshold", m.drift->threshold}};
    o["monitor"] = std::move(mo);
  }
  json::array tasks;
  for (const auto& t : p.tasks) tasks.emplace_back(task_json(t));
  o["tasks"] = std::move(tasks);
  return o;
}

std::string digest(const Pipeline& p) {
  return sha256_hex(canonical_json(to_json(p)));
}

}  // namespace ctflow::spec
