#include "scheduler/hpo/early_stopping.hpp"
#include "scheduler/hpo/space.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace ctflow::hpo {
namespace json = boost::json;

std::optional<MedianRule> parse_early_stopping(const json::value& v, const std::string& path,
                                               std::vector<std::string>& errors) {
  size_t before = errors.size();
  if (!v.is_object()) {
    errors.push_back(path + ": must be an object with \"rule\"");
    return std::nullopt;
  }
  const auto& o = v.get_object();
  MedianRule r;
  for (const auto& kv : o) {
    std::string k(kv.key());
    const json::value& x = kv.value();
    if (k == "rule") {
      if (!x.is_string() || x.get_string() != "median")
        errors.push_back(path + ".rule: must be \"median\"");
    } else if (k == "min_trials") {
      if (!x.is_int64() || x.get_int64() < 1 || x.get_int64() > 1'000'000)
        errors.push_back(path + ".min_trials: must be an integer >= 1");
      else
        r.min_trials = static_cast<int>(x.get_int64());
    } else if (k == "start_step") {
      if (!x.is_int64() || x.get_int64() < 0)
        errors.push_back(path + ".start_step: must be an integer >= 0");
      else
        r.start_step = x.get_int64();
    } else {
      errors.push_back(path + "." + shown_key(k) +
                       ": unknown field (expected rule, min_trials, start_step)");
    }
  }
  if (!o.contains("rule")) errors.push_back(path + ".rule: required (\"median\")");
  if (errors.size() != before) return std::nullopt;
  return r;
}

namespace {
// Best value of a curve over steps <= s (nullopt if none).
std::optional<double> best_upto(const Curve& c, int64_t s, Goal goal) {
  std::optional<double> best;
  for (const auto& p : c) {
    if (p.step > s || !std::isfinite(p.value)) continue;
    if (!best || (goal == Goal::Minimize ? p.value < *best : p.value > *best)) best = p.value;
  }
  return best;
}
}  // namespace

PruneDecision median_should_prune(const MedianRule& rule, Goal goal,
                                  const std::vector<Curve>& completed, const Curve& running) {
  PruneDecision d;
  for (const auto& p : running) d.step = std::max(d.step, p.step);
  if (d.step < 0) {
    d.reason = "no intermediate values yet";
    return d;
  }
  auto own = best_upto(running, d.step, goal);
  if (!own) {
    d.reason = "no finite intermediate value yet";
    return d;
  }
  d.trial_best = *own;
  if (d.step < rule.start_step) {
    d.reason = fmt::format("step {} is before start_step {}", d.step, rule.start_step);
    return d;
  }
  std::vector<double> others;
  for (const auto& c : completed)
    if (auto b = best_upto(c, d.step, goal)) others.push_back(*b);
  d.compared = static_cast<int>(others.size());
  if (d.compared < rule.min_trials) {
    d.reason = fmt::format("{} completed trials reported by step {}, {} needed", d.compared, d.step,
                           rule.min_trials);
    return d;
  }
  std::sort(others.begin(), others.end());
  size_t m = others.size() / 2;
  d.median = others.size() % 2 ? others[m] : 0.5 * (others[m - 1] + others[m]);
  d.prune = goal == Goal::Minimize ? d.trial_best > d.median : d.trial_best < d.median;
  d.reason = fmt::format("best {} {} median {} of {} completed trials at step {}", d.trial_best,
                         d.prune ? "worse than" : "not worse than", d.median, d.compared, d.step);
  return d;
}

Result<Curve> curve_from_metrics_jsonl(std::string_view text, std::string_view metric) {
  Curve c;
  size_t line_no = 0, pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) break;  // partial last line: still being written
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    if (ec || !v.is_object()) return Error{fmt::format("line {}: not a JSON object", line_no)};
    const auto& o = v.get_object();
    const json::value* name = o.if_contains("name");
    if (!name || !name->is_string())
      return Error{fmt::format("line {}: name: required, a string", line_no)};
    if (name->get_string() != metric) continue;
    const json::value* value = o.if_contains("value");
    if (!value || !value->is_number())
      return Error{fmt::format("line {}: value: required, a number", line_no)};
    CurvePoint p;
    p.value = value->to_number<double>();
    p.step = static_cast<int64_t>(c.size());
    if (const json::value* step = o.if_contains("step")) {
      if (!step->is_int64())
        return Error{fmt::format("line {}: step: must be an integer", line_no)};
      p.step = step->get_int64();
    }
    c.push_back(p);
  }
  return c;
}

}  // namespace ctflow::hpo
