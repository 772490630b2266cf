// parse_pipeline: size limit -> YAML to JSON -> top-level fields (params, defaults, pools,
// schedule) -> tasks -> graph -> templates. Each stage reports and goes on.
#include "scheduler/spec/parse.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "scheduler/spec/parse_internal.hpp"
#include "scheduler/spec/spec_external.hpp"
#include "scheduler/spec/yaml_json.hpp"

namespace ctflow::spec {
namespace {

namespace json = boost::json;
using detail::Errors;
using detail::ObjectReader;

std::optional<ParamType> param_type(std::string_view s) {
  if (s == "string") return ParamType::String;
  if (s == "int") return ParamType::Int;
  if (s == "float") return ParamType::Float;
  if (s == "bool") return ParamType::Bool;
  return std::nullopt;
}

std::optional<ParamType> type_of(const json::value& v) {
  if (v.is_string()) return ParamType::String;
  if (v.is_int64()) return ParamType::Int;
  if (v.is_double()) return ParamType::Float;
  if (v.is_bool()) return ParamType::Bool;
  return std::nullopt;
}

// A default converted to its param's type (int -> float widens), or nullopt if it does not fit.
std::optional<json::value> fit(const json::value& v, ParamType t) {
  switch (t) {
    case ParamType::String:
      return v.is_string() ? std::optional<json::value>(v) : std::nullopt;
    case ParamType::Int:
      return v.is_int64() ? std::optional<json::value>(v) : std::nullopt;
    case ParamType::Float:
      if (v.is_number()) return json::value(v.to_number<double>());
      return std::nullopt;
    case ParamType::Bool:
      return v.is_bool() ? std::optional<json::value>(v) : std::nullopt;
  }
  return std::nullopt;
}

Param read_param(const std::string& name, const json::value& v, const std::string& path,
                 Errors& errors) {
  Param p;
  p.name = name;
  if (!v.is_object()) {  // shorthand: NAME: DEFAULT
    auto t = type_of(v);
    if (!t) {
      errors.push_back(
          fmt::format("{}: expected {{type, default, description}} or a default "
                      "value (string, number or boolean), got {}",
                      path, detail::describe(v)));
      return p;
    }
    p.type = *t;
    p.default_value = v;
    return p;
  }
  ObjectReader r(v, path, errors, {"type", "default", "description"});
  const json::value* def = r.get("default");
  bool type_ok = true;
  if (auto t = r.one_of("type", {"string", "int", "float", "bool"})) {
    p.type = *param_type(*t);
  } else if (r.get("type")) {
    type_ok = false;  // reported; checking the default against a guess would only add noise
  } else if (def) {
    p.type = type_of(*def).value_or(ParamType::String);
  }
  if (def && type_ok) {
    if (auto fitted = fit(*def, p.type))
      p.default_value = std::move(*fitted);
    else
      r.fail("default", fmt::format("expected {} {} (the param's type), got {}",
                                    p.type == ParamType::Int ? "an" : "a", param_type_name(p.type),
                                    detail::describe(*def)));
  }
  p.description = r.str("description").value_or("");
  return p;
}

void read_params(const json::value& v, const std::string& path, Pipeline& p, Errors& errors) {
  if (!v.is_object()) {
    errors.push_back(fmt::format("{}: expected a mapping {{NAME: {{type, default}}}}, got {}", path,
                                 detail::describe(v)));
    return;
  }
  for (const auto& kv : v.get_object()) {
    std::string name(kv.key());
    std::string at = detail::field_path(path, name);
    if (auto why = detail::check_name(name)) errors.push_back(fmt::format("{}: {}", at, *why));
    p.params.push_back(read_param(name, kv.value(), at, errors));
  }
  std::sort(p.params.begin(), p.params.end(),
            [](const Param& a, const Param& b) { return a.name < b.name; });
}

std::set<std::string> read_pools(const json::value& v, Pipeline& p, Errors& errors) {
  std::set<std::string> names;
  if (!v.is_object()) {
    errors.push_back("pools: expected a mapping {NAME: slots}, got " + detail::describe(v));
    return names;
  }
  for (const auto& kv : v.get_object()) {
    std::string name(kv.key());
    std::string at = detail::field_path("pools", name);
    names.insert(name);
    if (auto why = detail::check_name(name)) errors.push_back(fmt::format("{}: {}", at, *why));
    const json::value& s = kv.value();
    if (!s.is_int64() || s.get_int64() < 1 || s.get_int64() > INT32_MAX) {
      errors.push_back(
          fmt::format("{}: expected a number of slots >= 1, got {}", at, detail::describe(s)));
      continue;
    }
    p.pools[name] = static_cast<int>(s.get_int64());
  }
  return names;
}

detail::TaskDefaults read_defaults(const json::value& v, Errors& errors) {
  detail::TaskDefaults d;
  ObjectReader r(v, "defaults", errors, {"retry", "timeout", "cache", "executor", "k8s"});
  if (const json::value* retry = r.get("retry"))
    d.retry = detail::read_retry(*retry, r.path("retry"), d.retry, errors);
  d.timeout = r.duration("timeout", false);
  d.cache = r.boolean("cache").value_or(false);
  if (auto e = r.one_of("executor", {"local", "kubernetes"})) d.executor = *e;
  if (const json::value* k = r.get("k8s")) d.k8s = detail::read_k8s(*k, r.path("k8s"), {}, errors);
  return d;
}

Schedule read_schedule(const json::value& v, Errors& errors) {
  Schedule s;
  ObjectReader r(v, "schedule", errors,
                 {"cron", "timezone", "catchup", "concurrency", "max_active_runs", "start", "end"});
  if (auto c = r.str("cron", true)) {
    if (auto why = detail::check_cron(*c)) r.fail("cron", fmt::format("\"{}\": {}", *c, *why));
    s.cron = *c;
  }
  if (auto tz = r.str("timezone")) {
    if (auto why = detail::check_time_zone(*tz)) r.fail("timezone", *why);
    s.timezone = *tz;
  }
  if (auto c = r.one_of("catchup", {"all", "latest", "none"})) s.catchup = *c;
  if (auto c = r.one_of("concurrency", {"allow", "forbid", "replace"})) s.concurrency = *c;
  if (auto m = r.integer("max_active_runs", 0)) s.max_active_runs = *m;
  s.start = r.instant("start");
  s.end = r.instant("end");
  if (s.start && s.end && *s.end <= *s.start)
    r.fail("end", fmt::format("must be after start ({})", format_iso8601(*s.start)));
  return s;
}

Monitor read_monitor(const json::value& v, Errors& errors) {
  Monitor m;
  ObjectReader r(v, "monitor", errors,
                 {"model", "alias", "window", "min_labels", "accuracy_below", "drift", "cooldown"});
  if (!r.is_object()) return m;
  m.model = r.name("model", true).value_or("");
  if (auto a = r.str("alias")) {
    bool ok = !a->empty() && a->size() <= 64;
    for (char c : *a)
      ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-');
    if (!ok) r.fail("alias", fmt::format("\"{}\": expected 1-64 characters of [A-Za-z0-9_.-]", *a));
    m.alias = *a;
  }
  if (auto w = r.integer("window", 10, 100'000)) m.window = *w;
  bool min_given = r.get("min_labels") != nullptr;
  if (auto n = r.integer("min_labels", 1, 100'000)) m.min_labels = *n;
  if (!min_given) m.min_labels = std::min(m.min_labels, m.window);
  if (m.min_labels > m.window)
    r.fail("min_labels", fmt::format("{} is more than the window ({})", m.min_labels, m.window));
  if (const json::value* a = r.get("accuracy_below")) {
    if (!a->is_number() || a->to_number<double>() <= 0 || a->to_number<double>() > 1)
      r.fail("accuracy_below", "expected a number in (0,1], got " + detail::describe(*a));
    else
      m.accuracy_below = a->to_number<double>();
  }
  if (const json::value* d = r.get("drift")) {
    ObjectReader dr(*d, r.path("drift"), errors, {"metric", "feature", "threshold"});
    if (dr.is_object()) {
      Monitor::Drift drift;
      if (auto x = dr.one_of("metric", {"psi", "ks"})) drift.metric = *x;
      dr.get("feature", true);
      if (auto x = dr.one_of("feature", {"mean", "ink", "prediction"})) drift.feature = *x;
      if (const json::value* t = dr.get("threshold", true)) {
        if (!t->is_number() || !(t->to_number<double>() > 0))
          dr.fail("threshold", "expected a number > 0, got " + detail::describe(*t));
        else
          drift.threshold = t->to_number<double>();
      }
      if (drift.metric == "ks" && drift.threshold > 1)
        dr.fail("threshold", "a ks statistic is at most 1");
      m.drift = drift;
    }
  }
  if (!r.get("accuracy_below") && !r.get("drift"))
    errors.push_back("monitor: expected accuracy_below or drift (what to watch)");
  if (auto c = r.duration("cooldown", true)) m.cooldown = *c;
  return m;
}

void read_tasks(const json::value& v, const detail::TaskDefaults& defaults,
                const std::set<std::string>& pools, const detail::NumberTexts& numbers, Pipeline& p,
                Errors& errors) {
  const json::array* a = v.if_array();
  if (!a) {
    errors.push_back("tasks: expected a list of tasks, got " + detail::describe(v));
    return;
  }
  if (a->empty()) {
    errors.push_back("tasks: a pipeline needs at least one task");
    return;
  }
  if (a->size() > kMaxTasks) {
    errors.push_back(fmt::format("tasks: {} tasks, over the limit of {}", a->size(), kMaxTasks));
    return;
  }
  p.tasks.reserve(a->size());
  for (size_t i = 0; i < a->size() && errors.size() <= kMaxErrors; ++i)
    p.tasks.push_back(detail::read_task((*a)[i], detail::index_path("tasks", i), defaults, pools,
                                        numbers, errors));
}

void read_pipeline(const json::value& doc, const detail::NumberTexts& numbers, Pipeline& p,
                   Errors& errors) {
  ObjectReader r(doc, "", errors,
                 {"name", "description", "params", "defaults", "pools", "concurrency",
                  "run_timeout", "schedule", "monitor", "tasks", "executor", "k8s"});
  if (!r.is_object()) return;
  p.name = r.name("name", true).value_or("");
  p.description = r.str("description").value_or("");
  if (const json::value* v = r.get("params")) read_params(*v, "params", p, errors);
  detail::TaskDefaults defaults;
  if (const json::value* v = r.get("defaults")) defaults = read_defaults(*v, errors);
  // `executor:` and `k8s:` at the top level are the pipeline's defaults too (as in Argo's
  // podSpecPatch or KFP's platform config: one place for every task).
  if (auto e = r.one_of("executor", {"local", "kubernetes"})) defaults.executor = *e;
  if (const json::value* k = r.get("k8s"))
    defaults.k8s = detail::read_k8s(*k, "k8s", defaults.k8s, errors);
  std::set<std::string> pools;
  if (const json::value* v = r.get("pools")) pools = read_pools(*v, p, errors);
  p.concurrency = r.integer("concurrency", 0).value_or(0);
  p.run_timeout = r.duration("run_timeout", false);
  if (const json::value* v = r.get("schedule")) p.schedule = read_schedule(*v, errors);
  if (const json::value* v = r.get("monitor")) p.monitor = read_monitor(*v, errors);
  if (const json::value* v = r.get("tasks", true))
    read_tasks(*v, defaults, pools, numbers, p, errors);
}

}  // namespace

namespace {
ParseResult parse_unchecked(std::string_view text, bool input_limits);
ParseResult parse_checked(std::string_view text, bool input_limits);
}  // namespace

ParseResult parse_pipeline(std::string_view text) {
  return parse_checked(text, true);
}

ParseResult parse_stored_pipeline(std::string_view text) {
  return parse_checked(text, false);
}

namespace {
// Keeps parse.hpp's promises whatever the input: errors are single non-empty lines (control
// bytes echoed from the input become '?'), and a pipeline comes back exactly when none exist.
ParseResult parse_checked(std::string_view text, bool input_limits) {
  ParseResult out = parse_unchecked(text, input_limits);
  for (auto& e : out.errors) {
    for (auto& ch : e)
      if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = '?';
    if (e.empty()) e = "spec: invalid document";
  }
  if (!out.pipeline && out.errors.empty())
    out.errors.push_back("spec: not a pipeline document (expected a mapping with name and tasks)");
  return out;
}

ParseResult parse_unchecked(std::string_view text, bool input_limits) {
  ParseResult out;
  if (input_limits && text.size() > kMaxSpecBytes) {
    out.errors.push_back(fmt::format("spec: {} bytes, over the limit of {} bytes ({} MiB)",
                                     text.size(), kMaxSpecBytes, kMaxSpecBytes >> 20));
    return out;
  }
  detail::NumberTexts numbers;
  auto doc =
      detail::yaml_to_json(text, out.errors, &numbers, input_limits ? kMaxYamlNodes : SIZE_MAX);
  if (!doc) return out;
  Pipeline p;
  read_pipeline(*doc, numbers, p, out.errors);
  detail::validate_graph(p, out.errors);
  detail::validate_templates(p, out.errors);
  // Report each problem once, in the order found.
  std::set<std::string> seen;
  std::erase_if(out.errors, [&](const std::string& e) { return !seen.insert(e).second; });
  if (out.errors.size() > kMaxErrors) {
    size_t more = out.errors.size() - kMaxErrors;
    out.errors.resize(kMaxErrors);
    out.errors.push_back(fmt::format("spec: {} more errors not shown", more));
  }
  if (out.errors.empty()) out.pipeline = std::move(p);
  return out;
}
}  // namespace

}  // namespace ctflow::spec
