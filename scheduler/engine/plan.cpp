#include "scheduler/engine/plan.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <set>

#include "scheduler/common/json_util.hpp"
#include "scheduler/common/sha256.hpp"
#include "scheduler/spec/condition.hpp"

namespace ctflow::engine {

Millis backoff_delay(const spec::RetryPolicy& p, int failed_attempt) {
  double ms = static_cast<double>(p.backoff.count()) *
              std::pow(std::max(1.0, p.factor), std::max(0, failed_attempt - 1));
  double cap = static_cast<double>(p.max_backoff.count());
  if (!(ms < cap)) ms = cap;  // also catches overflow to inf
  return Millis(static_cast<int64_t>(ms));
}

static std::string describe_failure(const TaskFacts& f, const AttemptOutcome& o) {
  if (o.timed_out)
    return "timed out after " + (f.timeout ? format_duration(*f.timeout) : std::string("?"));
  if (!o.error.empty()) return o.error;
  if (o.signal) return "killed by signal " + std::to_string(*o.signal);
  if (o.exit_code && *o.exit_code != 0) return "exit code " + std::to_string(*o.exit_code);
  if (!o.result_error.empty()) return o.result_error;
  return "ended without an exit status";
}

Transition plan_completion(const TaskFacts& f, const AttemptOutcome& o, TimePoint now) {
  Transition t;
  if (o.not_started || !o.redo.empty()) {
    t.state = "ready";
    t.attempt_state = o.not_started ? "lost" : "cancelled";
    t.error =
        o.not_started ? "attempt never started (its owner died first); dispatching again" : o.redo;
    t.not_before = now;
    t.refund = true;
    return t;
  }
  if (o.cancelled) {
    t.state = "cancelled";
    t.attempt_state = "cancelled";
    t.error = "cancelled";
    return t;
  }
  bool ok = !o.timed_out && o.error.empty() && !o.signal && o.exit_code && *o.exit_code == 0 &&
            o.result_error.empty();
  if (ok) {
    t.state = "succeeded";
    t.attempt_state = "succeeded";
    return t;
  }
  std::string why = describe_failure(f, o);
  // A command that does not exist will not appear by retrying (the executor says which).
  bool permanent = !exec::failure_retryable(o.failure);
  t.attempt_state = o.failure == exec::Failure::Lost ? "lost" : "failed";
  if (!permanent && f.attempt < f.max_attempts) {
    Millis d = backoff_delay(f.retry, f.attempt);
    t.state = "ready";
    t.not_before = now + std::chrono::duration_cast<std::chrono::microseconds>(d);
    t.error = "attempt " + std::to_string(f.attempt) + " failed: " + why + "; retrying in " +
              format_duration(d);
    return t;
  }
  t.state = "failed";
  t.error = why;
  return t;
}

bool reads_upstream(const spec::Task& t) {
  auto templated = [](const std::string& s) { return s.find("{{") != std::string::npos; };
  if (t.when) return true;
  for (const auto& a : t.run)
    if (templated(a)) return true;
  for (const auto& e : t.env)
    if (templated(e.value)) return true;
  return false;
}

DispatchPlan plan_dispatch(const spec::Task& t, const spec::TemplateContext& ctx) {
  DispatchPlan d;
  d.executor = t.executor;
  if (t.when) {
    auto r = spec::evaluate_condition(*t.when, ctx);
    if (!r) {
      d.kind = DispatchPlan::Kind::Fail;
      d.reason = "when: " + r.error();
      return d;
    }
    if (!*r) {
      d.kind = DispatchPlan::Kind::Skip;
      d.reason = "when: " + t.when->text + " is false";
      return d;
    }
  }
  auto argv = spec::render_all(t.run, ctx);
  if (!argv) {
    d.kind = DispatchPlan::Kind::Fail;
    d.reason = "run: " + argv.error();
    return d;
  }
  d.argv = std::move(*argv);
  for (const auto& e : t.env) {
    if (!e.secret.empty()) {
      d.secrets.emplace_back(e.name, e.secret);
      continue;
    }
    auto v = spec::render(e.value, ctx);
    if (!v) {
      d.kind = DispatchPlan::Kind::Fail;
      d.reason = "env." + e.name + ": " + v.error();
      return d;
    }
    d.env.emplace_back(e.name, *v);
  }
  return d;
}

boost::json::object CacheComponents::to_json() const {
  return {{"command", command}, {"inputs", inputs}, {"binary", binary}};
}

std::string cache_key(const CacheComponents& c) {
  return sha256_hex("ctflow-cache-v1\n" + c.command + "\n" + c.inputs + "\n" + c.binary);
}

std::string image_note(const std::string& binary) {
  if (binary.rfind("image-tag:", 0) != 0) return "";
  return "; image " + binary.substr(10) +
         " is not pinned by digest (NAME@sha256:...), so the cache key trusts its tag";
}

std::string explain_miss(const std::optional<boost::json::object>& previous,
                         const CacheComponents& now) {
  std::string note = image_note(now.binary);
  if (!previous) return "miss: no earlier successful run of this task" + note;
  std::vector<std::string> changed;
  if (get_string(*previous, "command") != now.command) changed.push_back("command");
  if (get_string(*previous, "inputs") != now.inputs) changed.push_back("input artifacts");
  if (get_string(*previous, "binary") != now.binary) changed.push_back("executable");
  if (changed.empty()) return "miss: the matching earlier result is not available" + note;
  std::string s = "miss: ";
  for (size_t i = 0; i < changed.size(); ++i) s += (i ? ", " : "") + changed[i];
  return s + " changed since the last successful run" + note;
}

std::vector<int> ancestors(const spec::Pipeline& p, int index, size_t cap) {
  return ancestors(build_graph(p).parents, index, cap);
}

std::vector<int> ancestors(const std::vector<std::vector<int>>& parents, int index, size_t cap) {
  std::vector<int> out;
  std::vector<bool> seen(parents.size(), false);
  std::deque<int> q{index};
  while (!q.empty() && out.size() < cap) {
    int i = q.front();
    q.pop_front();
    for (int j : parents[static_cast<size_t>(i)]) {
      if (seen[static_cast<size_t>(j)]) continue;
      seen[static_cast<size_t>(j)] = true;
      out.push_back(j);
      if (out.size() >= cap) break;
      q.push_back(j);
    }
  }
  return out;
}

Graph build_graph(const spec::Pipeline& p) {
  Graph g;
  g.parents.resize(p.tasks.size());
  g.children.resize(p.tasks.size());
  std::map<std::string, int> index;
  for (size_t i = 0; i < p.tasks.size(); ++i) {
    index[p.tasks[i].name] = static_cast<int>(i);
    if (p.tasks[i].hpo) g.any_hpo = true;
  }
  for (size_t i = 0; i < p.tasks.size(); ++i)
    for (const auto& n : p.tasks[i].needs)
      if (auto it = index.find(n); it != index.end()) {
        g.parents[i].push_back(it->second);
        g.children[static_cast<size_t>(it->second)].push_back(static_cast<int>(i));
      }
  // Children in claim order (priority, then declaration: task run ids follow it), so that the
  // fast path, which dispatches the first children that fit, picks what a claim would.
  for (auto& kids : g.children)
    std::stable_sort(kids.begin(), kids.end(), [&](int a, int b) {
      return p.tasks[static_cast<size_t>(a)].priority < p.tasks[static_cast<size_t>(b)].priority;
    });
  return g;
}

}  // namespace ctflow::engine
