// Reading one task: argv, env, when, pool, retry, timeout, cache, priority, hpo.
#include <fmt/format.h>

#include <algorithm>

#include "scheduler/spec/condition.hpp"
#include "scheduler/spec/parse_internal.hpp"
#include "scheduler/spec/spec_external.hpp"

namespace ctflow::spec::detail {
namespace {

namespace json = boost::json;

std::string clip(std::string_view s) {
  return s.size() <= 60 ? std::string(s) : std::string(s.substr(0, 57)) + "...";
}

// "python train.py --lr 3" -> "[python, train.py, --lr, 3]": the list form of a shell string.
std::string as_list(std::string_view s) {
  std::string out = "[";
  size_t i = 0, n = 0;
  while (i < s.size() && n < 8) {
    while (i < s.size() && s[i] == ' ') ++i;
    size_t start = i;
    while (i < s.size() && s[i] != ' ') ++i;
    if (i > start) out += (n++ ? ", " : "") + std::string(s.substr(start, i - start));
  }
  return out + (i < s.size() ? ", ...]" : "]");
}

bool valid_env_name(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// A scalar as argv/env text: numbers as the user wrote them when known.
std::optional<std::string> arg_text(const json::value& v, const std::string& path,
                                    const NumberTexts& numbers) {
  if (v.is_number())
    if (auto it = numbers.find(path); it != numbers.end()) return it->second;
  return scalar_text(v);
}

std::vector<EnvVar> read_env(const json::value& v, const std::string& path,
                             const NumberTexts& numbers, Errors& errors) {
  std::vector<EnvVar> env;
  if (!v.is_object()) {
    errors.push_back(fmt::format(
        "{}: expected a mapping {{NAME: value or {{secret: NAME}}}}, got {}", path, describe(v)));
    return env;
  }
  for (const auto& kv : v.get_object()) {
    EnvVar e;
    e.name = std::string(kv.key());
    std::string at = field_path(path, e.name);
    if (!valid_env_name(e.name))
      errors.push_back(fmt::format("{}: \"{}\" is not a variable name ([A-Za-z_][A-Za-z0-9_]*)", at,
                                   clip(e.name)));
    else if (e.name.starts_with("CTFLOW_"))
      errors.push_back(fmt::format("{}: names starting with CTFLOW_ are set by ctflow", at));
    if (kv.value().is_object()) {
      ObjectReader r(kv.value(), at, errors, {"secret"});
      e.secret = r.name("secret", true).value_or("");
    } else if (auto text = arg_text(kv.value(), at, numbers)) {
      e.value = *text;
    } else {
      errors.push_back(fmt::format("{}: expected a string or {{secret: NAME}}, got {}", at,
                                   describe(kv.value())));
    }
    env.push_back(std::move(e));
  }
  std::sort(env.begin(), env.end(),
            [](const EnvVar& a, const EnvVar& b) { return a.name < b.name; });
  return env;
}

std::vector<std::string> read_needs(const json::value& v, const std::string& path, Errors& errors) {
  std::vector<std::string> needs;
  const json::array* a = v.if_array();
  if (!a) {
    std::string hint =
        v.is_string() ? fmt::format("; write needs: [{}]", clip(v.get_string())) : "";
    errors.push_back(
        fmt::format("{}: expected a list of task names, got {}{}", path, describe(v), hint));
    return needs;
  }
  for (size_t i = 0; i < a->size(); ++i) {
    if (!(*a)[i].is_string()) {
      errors.push_back(
          fmt::format("{}: expected a task name, got {}", index_path(path, i), describe((*a)[i])));
      continue;
    }
    needs.emplace_back((*a)[i].get_string());
  }
  return needs;
}

}  // namespace

std::vector<std::string> read_argv(const json::value& v, const std::string& path,
                                   const NumberTexts& numbers, Errors& errors) {
  std::vector<std::string> argv;
  if (v.is_string()) {
    errors.push_back(fmt::format(
        "{}: a command is an argv list, never a shell string: write {} (or [sh, -c, \"...\"] "
        "when you need a shell)",
        path, as_list(v.get_string())));
    return argv;
  }
  const json::array* a = v.if_array();
  if (!a) {
    errors.push_back(
        fmt::format("{}: expected an argv list such as [echo, hello], got {}", path, describe(v)));
    return argv;
  }
  if (a->empty()) errors.push_back(path + ": must have at least one argument (the program)");
  if (a->size() > kMaxArgs) {
    errors.push_back(
        fmt::format("{}: {} arguments, over the limit of {}", path, a->size(), kMaxArgs));
    return argv;
  }
  for (size_t i = 0; i < a->size(); ++i) {
    auto text = arg_text((*a)[i], index_path(path, i), numbers);
    if (!text) {
      errors.push_back(fmt::format("{}: expected a string or number, got {}", index_path(path, i),
                                   describe((*a)[i])));
      continue;
    }
    if (i == 0 && text->empty())
      errors.push_back(index_path(path, 0) + ": the program name must not be empty");
    argv.push_back(std::move(*text));
  }
  return argv;
}

RetryPolicy read_retry(const json::value& v, const std::string& path, RetryPolicy base,
                       Errors& errors) {
  ObjectReader r(v, path, errors, {"limit", "backoff", "factor", "max_backoff"});
  if (auto n = r.integer("limit", 0, 1000)) base.limit = *n;
  if (auto d = r.duration("backoff", true)) base.backoff = *d;
  if (auto f = r.number("factor", 1.0)) base.factor = *f;
  if (auto d = r.duration("max_backoff", true)) base.max_backoff = *d;
  if ((r.get("backoff") || r.get("max_backoff")) && base.max_backoff < base.backoff)
    r.fail("max_backoff", fmt::format("must be >= backoff ({})", format_duration(base.backoff)));
  return base;
}

HpoSpec read_hpo(const json::value& v, const std::string& path, const NumberTexts& numbers,
                 Errors& errors) {
  HpoSpec h;
  ObjectReader r(v, path, errors,
                 {"algorithm", "objective", "max_trials", "parallelism", "seed", "space",
                  "early_stopping", "trial"});
  if (!r.is_object()) return h;
  if (auto a = r.one_of("algorithm", {"grid", "random", "bayes"})) h.algorithm = *a;
  if (const json::value* o = r.get("objective", true)) {
    ObjectReader obj(*o, r.path("objective"), errors, {"metric", "goal"});
    h.metric = obj.str("metric", true).value_or("");
    if (obj.is_object() && obj.get("metric") && h.metric.empty())
      obj.fail("metric", "must not be empty");
    if (auto g = obj.one_of("goal", {"minimize", "maximize"})) h.goal = *g;
  }
  if (auto n = r.integer("max_trials", 1, 100'000)) h.max_trials = *n;
  if (auto n = r.integer("parallelism", 1, 10'000)) h.parallelism = *n;
  if (auto n = r.integer("seed", 0)) h.seed = *n;
  if (const json::value* s = r.get("space", true)) {
    if (auto space = parse_space(*s, r.path("space"), errors)) {
      h.space = std::move(*space);
      if (h.space.dims.empty()) r.fail("space", "must have at least one dimension");
    }
  }
  if (const json::value* e = r.get("early_stopping")) {
    ObjectReader es(*e, r.path("early_stopping"), errors, {"rule", "min_trials", "start_step"});
    HpoSpec::EarlyStopping stop;
    if (auto rule = es.one_of("rule", {"median"})) stop.rule = *rule;
    if (auto n = es.integer("min_trials", 1)) stop.min_trials = *n;
    if (auto n = es.integer("start_step", 0)) stop.start_step = *n;
    h.early_stopping = stop;
  }
  if (const json::value* t = r.get("trial", true)) {
    ObjectReader trial(*t, r.path("trial"), errors, {"run"});
    if (const json::value* run = trial.get("run", true))
      h.trial_run = read_argv(*run, trial.path("run"), numbers, errors);
  }
  return h;
}

Task read_task(const json::value& v, const std::string& path, const TaskDefaults& defaults,
               const std::set<std::string>& pools, const NumberTexts& numbers, Errors& errors) {
  Task t;
  t.retry = defaults.retry;
  t.timeout = defaults.timeout;
  t.cache = defaults.cache;
  t.executor = defaults.executor;
  t.k8s = defaults.k8s;
  ObjectReader r(v, path, errors,
                 {"name", "description", "needs", "run", "env", "when", "pool", "retry", "timeout",
                  "cache", "priority", "hpo", "executor", "k8s"});
  if (!r.is_object()) return t;
  t.name = r.name("name", true).value_or("");
  t.description = r.str("description").value_or("");
  if (const json::value* n = r.get("needs")) t.needs = read_needs(*n, r.path("needs"), errors);
  const json::value* run = r.get("run");
  const json::value* hpo = r.get("hpo");
  if (run && hpo)
    errors.push_back(path + ": a task has either run (a command) or hpo (a study), not both");
  else if (!run && !hpo)
    r.fail("run", "missing required field (an argv list such as [echo, hello], or an hpo block)");
  if (run) t.run = read_argv(*run, r.path("run"), numbers, errors);
  if (hpo) t.hpo = read_hpo(*hpo, r.path("hpo"), numbers, errors);
  if (const json::value* e = r.get("env")) t.env = read_env(*e, r.path("env"), numbers, errors);
  if (const json::value* w = r.get("when")) {
    if (auto text = arg_text(*w, r.path("when"), numbers)) {
      t.when = Condition{*text};
      if (auto parsed = parse_condition(*text); !parsed.ok()) r.fail("when", parsed.error());
    } else {
      r.fail("when",
             "expected a condition such as \"{{tasks.gate.outputs.promoted}} == true\", "
             "got " +
                 describe(*w));
    }
  }
  if (auto pool = r.str("pool")) {
    std::vector<std::string> names(pools.begin(), pools.end());
    if (!pools.count(*pool))
      r.fail("pool", fmt::format("unknown pool \"{}\"{}; declare it under pools: {{{}: SLOTS}}",
                                 *pool, did_you_mean(*pool, names), *pool));
    t.pool = *pool;
  }
  if (const json::value* retry = r.get("retry"))
    t.retry = read_retry(*retry, r.path("retry"), defaults.retry, errors);
  if (r.get("timeout")) t.timeout = r.duration("timeout", false);
  if (auto c = r.boolean("cache")) t.cache = *c;
  if (auto p = r.integer("priority", INT32_MIN, INT32_MAX)) t.priority = *p;
  if (auto e = r.one_of("executor", {"local", "kubernetes"})) t.executor = *e;
  if (const json::value* k = r.get("k8s")) {
    t.k8s = read_k8s(*k, r.path("k8s"), t.k8s, errors);
    if (t.executor != "kubernetes")
      r.fail("k8s",
             "set, but the task runs with executor local (add executor: kubernetes here "
             "or in defaults)");
  }
  if (t.executor != "kubernetes") t.k8s = {};
  return t;
}

}  // namespace ctflow::spec::detail
