#include "scheduler/hpo/study.hpp"

#include <fmt/format.h>

#include <cmath>
#include <unordered_set>

#include "scheduler/hpo/sobol.hpp"

namespace ctflow::hpo {

std::optional<Algorithm> parse_algorithm(std::string_view s) {
  if (s == "grid") return Algorithm::Grid;
  if (s == "random") return Algorithm::Random;
  if (s == "bayes") return Algorithm::Bayes;
  return std::nullopt;
}

std::optional<Goal> parse_goal(std::string_view s) {
  if (s == "minimize") return Goal::Minimize;
  if (s == "maximize") return Goal::Maximize;
  return std::nullopt;
}

void check_space_for(Algorithm a, const SearchSpace& s, const std::string& path,
                     std::vector<std::string>& errors) {
  if (a != Algorithm::Grid) return;
  size_t before = errors.size();
  double total = 1;
  for (const auto& d : s.dims) {
    auto n = cardinality(d);
    if (!n) {
      errors.push_back(
          fmt::format("{}.{}: a grid needs `values` or `step` for a float "
                      "(min..max alone is unbounded in count)",
                      path, d.name));
      continue;
    }
    total *= static_cast<double>(*n);
  }
  if (errors.size() == before && total > static_cast<double>(kMaxGridPoints))
    errors.push_back(
        fmt::format("{}: the grid has {:.0f} points, more than {}", path, total, kMaxGridPoints));
}

std::optional<size_t> best_trial(const std::vector<TrialRecord>& trials, Goal goal) {
  std::optional<size_t> best;
  for (size_t i = 0; i < trials.size(); ++i) {
    const TrialRecord& t = trials[i];
    if (t.state != TrialState::Complete || !t.value || !std::isfinite(*t.value)) continue;
    if (!best) {
      best = i;
      continue;
    }
    double b = *trials[*best].value;
    if (goal == Goal::Minimize ? *t.value < b : *t.value > b) best = i;
  }
  return best;
}

namespace detail {

Suggestions grid_suggest(const SearchSpace& s, const std::vector<TrialRecord>& trials, int count) {
  // Flat index: the first dimension (by name) varies slowest, the last fastest.
  std::vector<uint64_t> sizes;
  uint64_t total = 1;
  for (const auto& d : s.dims) {
    sizes.push_back(*cardinality(d));
    total *= sizes.back();
  }
  std::unordered_set<uint64_t> taken;
  for (const auto& t : trials) {
    uint64_t flat = 0;
    bool on_grid = true;
    for (size_t i = 0; i < s.dims.size() && on_grid; ++i) {
      const boost::json::value* v = t.params.if_contains(s.dims[i].name);
      auto idx = v ? index_of(s.dims[i], *v) : std::nullopt;
      if (!idx)
        on_grid = false;
      else
        flat = flat * sizes[i] + *idx;
    }
    if (on_grid) taken.insert(flat);
  }
  Suggestions out;
  for (uint64_t flat = 0; flat < total && static_cast<int>(out.suggestions.size()) < count;
       ++flat) {
    if (taken.count(flat)) continue;
    Suggestion sg;
    uint64_t rest = flat;
    for (size_t i = s.dims.size(); i-- > 0;) {
      sg.params[s.dims[i].name] = discrete_value(s.dims[i], rest % sizes[i]);
      rest /= sizes[i];
    }
    // Keys in dimension order, as the other algorithms emit them.
    Suggestion ordered;
    for (const auto& d : s.dims) ordered.params[d.name] = sg.params[d.name];
    out.suggestions.push_back(std::move(ordered));
  }
  out.exhausted = static_cast<int>(out.suggestions.size()) < count;
  return out;
}

Suggestions random_suggest(const StudyConfig& c, size_t n_trials, int count) {
  Sobol sobol(c.space.dims.size(), c.seed);
  Suggestions out;
  for (int i = 0; i < count; ++i)
    out.suggestions.push_back({decode_point(c.space, sobol.point(n_trials + i))});
  return out;
}

}  // namespace detail

Result<Suggestions> suggest(const StudyConfig& config, const std::vector<TrialRecord>& trials,
                            int count) {
  if (count < 1) return Error{fmt::format("count: must be >= 1 (got {})", count)};
  std::vector<std::string> errors;
  check_space_for(config.algorithm, config.space, "space", errors);
  if (!errors.empty()) return Error{errors.front()};
  std::vector<detail::EncodedTrial> enc;
  enc.reserve(trials.size());
  for (size_t i = 0; i < trials.size(); ++i) {
    const TrialRecord& t = trials[i];
    std::string err;
    auto u = encode_point(config.space, t.params, fmt::format("trials[{}].params", i), err);
    if (!u) return Error{err};
    if (t.value && !std::isfinite(*t.value))
      return Error{fmt::format("trials[{}].value: must be a finite number", i)};
    if (t.state == TrialState::Complete && !t.value)
      return Error{fmt::format("trials[{}].value: required for a complete trial", i)};
    detail::EncodedTrial e{std::move(*u), t.state, std::nullopt};
    if (t.value && t.state != TrialState::Failed)
      e.y = config.goal == Goal::Minimize ? *t.value : -*t.value;
    enc.push_back(std::move(e));
  }
  switch (config.algorithm) {
    case Algorithm::Grid:
      return detail::grid_suggest(config.space, trials, count);
    case Algorithm::Random:
      return detail::random_suggest(config, trials.size(), count);
    case Algorithm::Bayes:
      return detail::bayes_suggest(config, enc, count);
  }
  return Error{"algorithm: unknown"};
}

}  // namespace ctflow::hpo
