#include "scheduler/spec/spec.hpp"

namespace ctflow::spec {

const Task* Pipeline::task(const std::string& name) const {
  int i = task_index(name);
  return i < 0 ? nullptr : &tasks[static_cast<size_t>(i)];
}

int Pipeline::task_index(const std::string& name) const {
  for (size_t i = 0; i < tasks.size(); ++i)
    if (tasks[i].name == name) return static_cast<int>(i);
  return -1;
}

const char* param_type_name(ParamType t) {
  switch (t) {
    case ParamType::String:
      return "string";
    case ParamType::Int:
      return "int";
    case ParamType::Float:
      return "float";
    case ParamType::Bool:
      return "bool";
  }
  return "string";
}

static bool same_dimension(const hpo::Dimension& a, const hpo::Dimension& b) {
  return a.name == b.name && a.type == b.type && a.min == b.min && a.max == b.max &&
         a.log == b.log && a.step == b.step && a.values == b.values;
}

bool operator==(const HpoSpec& a, const HpoSpec& b) {
  if (a.space.dims.size() != b.space.dims.size()) return false;
  for (size_t i = 0; i < a.space.dims.size(); ++i)
    if (!same_dimension(a.space.dims[i], b.space.dims[i])) return false;
  return a.algorithm == b.algorithm && a.metric == b.metric && a.goal == b.goal &&
         a.max_trials == b.max_trials && a.parallelism == b.parallelism && a.seed == b.seed &&
         a.early_stopping == b.early_stopping && a.trial_run == b.trial_run;
}

}  // namespace ctflow::spec
