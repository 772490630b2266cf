// Checks that need the whole pipeline: the dependency graph, then every template.
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <unordered_set>

#include "scheduler/spec/condition.hpp"
#include "scheduler/spec/parse_internal.hpp"
#include "scheduler/spec/template.hpp"

namespace ctflow::spec::detail {
namespace {

// Task name -> index of its first declaration (later duplicates are reported, not indexed).
std::map<std::string, size_t> index_names(const Pipeline& p) {
  std::map<std::string, size_t> idx;
  for (size_t i = 0; i < p.tasks.size(); ++i)
    if (!p.tasks[i].name.empty()) idx.emplace(p.tasks[i].name, i);
  return idx;
}

std::vector<std::string> task_names(const Pipeline& p) {
  std::vector<std::string> names;
  for (const auto& t : p.tasks)
    if (!t.name.empty()) names.push_back(t.name);
  return names;
}

// needs as indexes (unknown names and self-dependencies left out; they are reported apart).
std::vector<std::vector<size_t>> dep_indexes(const Pipeline& p,
                                             const std::map<std::string, size_t>& idx) {
  std::vector<std::vector<size_t>> deps(p.tasks.size());
  for (size_t i = 0; i < p.tasks.size(); ++i)
    for (const auto& d : p.tasks[i].needs) {
      auto it = idx.find(d);
      if (it != idx.end() && it->second != i) deps[i].push_back(it->second);
    }
  return deps;
}

// Reports every back edge of a depth-first search (iterative: chains may be 10,000 long).
void find_cycles(const Pipeline& p, const std::map<std::string, size_t>& idx, Errors& errors) {
  size_t n = p.tasks.size();
  std::vector<std::vector<size_t>> deps = dep_indexes(p, idx);
  enum Color { White, Gray, Black };
  std::vector<Color> color(n, White);
  std::vector<std::pair<size_t, size_t>> stack;  // (task, next dep to visit)
  for (size_t root = 0; root < n; ++root) {
    if (color[root] != White) continue;
    stack.push_back({root, 0});
    color[root] = Gray;
    while (!stack.empty()) {
      auto& [u, next] = stack.back();
      if (next == deps[u].size()) {
        color[u] = Black;
        stack.pop_back();
        continue;
      }
      size_t v = deps[u][next++];
      if (color[v] == White) {
        color[v] = Gray;
        stack.push_back({v, 0});
      } else if (color[v] == Gray) {
        // The stack from v up to u is a chain in which each task needs the next, and u needs
        // v. Read from the top down it is upstream first: u, ..., v.
        std::vector<size_t> cycle;
        for (size_t k = stack.size(); k-- > 0;) {
          cycle.push_back(stack[k].first);
          if (stack[k].first == v) break;
        }
        auto first = std::min_element(cycle.begin(), cycle.end());
        std::rotate(cycle.begin(), first, cycle.end());
        std::string text;
        for (size_t t : cycle) text += p.tasks[t].name + " -> ";
        text += p.tasks[cycle.front()].name;
        errors.push_back(
            fmt::format("tasks: dependency cycle {} (each task needs the one before it)", text));
      }
    }
  }
}

class TemplateChecker {
 public:
  TemplateChecker(const Pipeline& p, Errors& errors)
      : p_(p),
        errors_(errors),
        idx_(index_names(p)),
        deps_(dep_indexes(p, idx_)),
        task_names_(task_names(p)),
        seen_(p.tasks.size(), 0) {
    for (const auto& param : p.params) params_.push_back(param.name);
    answer_upstream_questions();
  }

  void check_task(size_t i) {
    for_each_template(i, [&](const std::string& text, const std::string& path, bool in_trial) {
      check(text, path, i, in_trial);
    });
  }

 private:
  // Calls fn(text, path, in_trial) for each string of task i that may hold templates.
  template <class Fn>
  void for_each_template(size_t i, Fn&& fn) const {
    const Task& t = p_.tasks[i];
    std::string path = index_path("tasks", i);
    for (size_t k = 0; k < t.run.size(); ++k) fn(t.run[k], index_path(path + ".run", k), false);
    for (const auto& e : t.env) fn(e.value, path + ".env." + e.name, false);
    if (t.when) {
      if (auto c = parse_condition(t.when->text); c.ok()) {
        if (!c->lhs.quoted) fn(c->lhs.text, path + ".when", false);
        if (c->rhs && !c->rhs->quoted) fn(c->rhs->text, path + ".when", false);
      }
    }
    if (t.hpo)
      for (size_t k = 0; k < t.hpo->trial_run.size(); ++k)
        fn(t.hpo->trial_run[k], index_path(path + ".hpo.trial.run", k), true);
  }

  static uint64_t pair_key(size_t up, size_t down) {
    return (static_cast<uint64_t>(up) << 32) | static_cast<uint64_t>(down);
  }

  // Answers every "is task U upstream of task D" that the templates ask, before the checks,
  // in O((tasks + edges) * targets / 64): one sweep in topological order per 64 distinct
  // upstream tasks named, each task's mask the OR of its parents'. A search per question cost
  // O(tasks) each, O(tasks^2) for a chain of 100,000 whose every step reads the first one's
  // outputs (53 s; issue 22). Tasks in or below a dependency cycle (already an error) are left
  // to is_ancestor's search.
  void answer_upstream_questions() {
    size_t n = p_.tasks.size();
    std::map<size_t, std::vector<size_t>> asked;  // upstream task -> tasks that ask about it
    for (size_t i = 0; i < n; ++i)
      for_each_template(i, [&](const std::string& text, const std::string&, bool) {
        if (!has_template(text)) return;
        for (const auto& piece : scan_template(text).pieces) {
          if (!piece.ref ||
              (piece.ref->kind != RefKind::TaskOutput && piece.ref->kind != RefKind::TaskBest))
            continue;
          auto it = idx_.find(piece.ref->name);
          if (it != idx_.end() && it->second != i) asked[it->second].push_back(i);
        }
      });
    if (asked.empty()) return;
    // Kahn's order: parents first.
    std::vector<std::vector<size_t>> children(n);
    std::vector<size_t> missing(n, 0), order;
    for (size_t i = 0; i < n; ++i) {
      missing[i] = deps_[i].size();
      for (size_t d : deps_[i]) children[d].push_back(i);
      if (missing[i] == 0) order.push_back(i);
    }
    for (size_t k = 0; k < order.size(); ++k)
      for (size_t c : children[order[k]])
        if (--missing[c] == 0) order.push_back(c);
    in_order_.assign(n, false);
    for (size_t i : order) in_order_[i] = true;
    std::vector<uint64_t> mask(n);
    for (auto batch = asked.begin(); batch != asked.end();) {
      std::fill(mask.begin(), mask.end(), 0);
      auto end = batch;
      for (int bit = 0; bit < 64 && end != asked.end(); ++bit, ++end)
        mask[end->first] |= uint64_t{1} << bit;
      for (size_t u : order)
        for (size_t d : deps_[u]) mask[u] |= mask[d];
      int bit = 0;
      for (; batch != end; ++batch, ++bit)
        for (size_t down : batch->second)
          if (in_order_[down] && (mask[down] >> bit & 1) && down != batch->first)
            upstream_.insert(pair_key(batch->first, down));
    }
  }

  void check(const std::string& text, const std::string& path, size_t task, bool in_trial) {
    if (!has_template(text)) return;
    TemplateScan scan = scan_template(text);
    for (const auto& e : scan.errors) errors_.push_back(fmt::format("{}: {}", path, e));
    for (const auto& piece : scan.pieces) {
      if (!piece.ref) continue;
      if (auto why = problem(*piece.ref, task, in_trial))
        errors_.push_back(fmt::format("{}: {}: {}", path, piece.ref->text, *why));
    }
  }

  std::optional<std::string> problem(const TemplateRef& r, size_t task, bool in_trial) {
    const Task& self = p_.tasks[task];
    switch (r.kind) {
      case RefKind::Param:
        if (std::find(params_.begin(), params_.end(), r.name) != params_.end()) return {};
        return fmt::format("unknown param \"{}\"{}", r.name, did_you_mean(r.name, params_));
      case RefKind::RunField:
        return {};  // field names are checked by scan_template
      case RefKind::Trial: {
        if (!in_trial) return "trial values exist only inside hpo.trial.run";
        return dimension_problem(*self.hpo, r.name, "", "this task's");
      }
      case RefKind::TaskOutput:
      case RefKind::TaskBest: {
        auto it = idx_.find(r.name);
        if (it == idx_.end())
          return fmt::format("unknown task \"{}\"{}", r.name, did_you_mean(r.name, task_names_));
        if (it->second == task) return "a task cannot read its own outputs";
        if (!is_ancestor(it->second, task))
          return fmt::format("task \"{}\" is not upstream of \"{}\"; add it to needs", r.name,
                             self.name);
        if (r.kind == RefKind::TaskOutput) return {};
        const Task& up = p_.tasks[it->second];
        if (!up.hpo) return fmt::format("task \"{}\" has no hpo block", r.name);
        return dimension_problem(*up.hpo, r.key, up.hpo->metric, "task \"" + up.name + "\"'s");
      }
    }
    return {};
  }

  static std::optional<std::string> dimension_problem(const HpoSpec& h, const std::string& name,
                                                      const std::string& metric,
                                                      const std::string& whose) {
    if (h.space.dims.empty()) return {};  // the space itself was invalid: already reported
    std::vector<std::string> names;
    for (const auto& d : h.space.dims) names.push_back(d.name);
    if (!metric.empty()) names.push_back(metric);
    if (std::find(names.begin(), names.end(), name) != names.end()) return {};
    return fmt::format("\"{}\" is not a dimension of {} hpo.space{}{}", name, whose,
                       metric.empty() ? "" : " nor its objective metric",
                       did_you_mean(name, names));
  }

  // Whether task `up` is reachable from `down` through needs: answered ahead by
  // answer_upstream_questions, or for a task in or below a cycle, by a search stopping when
  // found (memoising whole ancestor sets would cost O(n^2) memory on a long chain).
  bool is_ancestor(size_t up, size_t down) {
    if (down < in_order_.size() && in_order_[down]) return upstream_.count(pair_key(up, down)) > 0;
    ++generation_;
    std::vector<size_t> todo{down};
    while (!todo.empty()) {
      size_t u = todo.back();
      todo.pop_back();
      for (size_t d : deps_[u]) {
        if (d == up) return true;
        if (seen_[d] == generation_) continue;
        seen_[d] = generation_;
        todo.push_back(d);
      }
    }
    return false;
  }

  const Pipeline& p_;
  Errors& errors_;
  std::map<std::string, size_t> idx_;
  std::vector<std::vector<size_t>> deps_;
  std::vector<std::string> params_;
  std::vector<std::string> task_names_;
  std::vector<uint64_t> seen_;  // generation at which a task was last visited by is_ancestor
  uint64_t generation_ = 0;
  std::vector<bool> in_order_;  // task -> not in or below a cycle (its answers are in upstream_)
  std::unordered_set<uint64_t> upstream_;  // pair_key(up, down) asked by a template and true
};

}  // namespace

void validate_graph(const Pipeline& p, Errors& errors) {
  auto idx = index_names(p);
  std::vector<std::string> names = task_names(p);
  for (size_t i = 0; i < p.tasks.size() && errors.size() <= kMaxErrors; ++i) {
    const Task& t = p.tasks[i];
    std::string path = index_path("tasks", i);
    auto first = idx.find(t.name);
    if (first != idx.end() && first->second != i)
      errors.push_back(
          fmt::format("{}.name: duplicate task name \"{}\" (first declared at "
                      "tasks[{}])",
                      path, t.name, first->second));
    std::set<std::string> seen;
    for (size_t k = 0; k < t.needs.size(); ++k) {
      const std::string& d = t.needs[k];
      std::string at = index_path(path + ".needs", k);
      if (!seen.insert(d).second)
        errors.push_back(fmt::format("{}: \"{}\" is listed twice", at, d));
      else if (d == t.name)
        errors.push_back(fmt::format("{}: task \"{}\" needs itself", at, d));
      else if (!idx.count(d))
        errors.push_back(fmt::format("{}: unknown task \"{}\"{}", at, d, did_you_mean(d, names)));
    }
  }
  find_cycles(p, idx, errors);
}

void validate_templates(const Pipeline& p, Errors& errors) {
  TemplateChecker checker(p, errors);
  for (size_t i = 0; i < p.tasks.size() && errors.size() <= kMaxErrors; ++i) checker.check_task(i);
}

}  // namespace ctflow::spec::detail
