// Checks that need the whole pipeline: the dependency graph, then every template.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

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
  }

  void check_task(size_t i) {
    const Task& t = p_.tasks[i];
    std::string path = index_path("tasks", i);
    for (size_t k = 0; k < t.run.size(); ++k)
      check(t.run[k], index_path(path + ".run", k), i, false);
    for (const auto& e : t.env) check(e.value, path + ".env." + e.name, i, false);
    if (t.when) {
      if (auto c = parse_condition(t.when->text); c.ok()) {
        if (!c->lhs.quoted) check(c->lhs.text, path + ".when", i, false);
        if (c->rhs && !c->rhs->quoted) check(c->rhs->text, path + ".when", i, false);
      }
    }
    if (t.hpo)
      for (size_t k = 0; k < t.hpo->trial_run.size(); ++k)
        check(t.hpo->trial_run[k], index_path(path + ".hpo.trial.run", k), i, true);
  }

 private:
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

  // Whether task `up` is reachable from `down` through needs. A search per question, stopping
  // when found: memoising whole ancestor sets would cost O(n^2) memory on a long chain.
  bool is_ancestor(size_t up, size_t down) {
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
