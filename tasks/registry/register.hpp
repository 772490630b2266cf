#pragma once
// register: asks the engine to record a new model version (and optionally deploy it) through
// registry operations in the outputs file; the task never opens the database (DESIGN "Task
// contract"). The version's artifacts are upstream artifacts named "TASK/NAME" (by default the
// train task's "model" and the evaluate task's "index" and "index-labels") plus this task's
// "model-card" (a JSON summary). Lineage: the run (id, pipeline version, logical date), the
// data partitions with their digests and the test set digest (from extract), training
// parameters, and the parent version (the one deployed when this run started, or null).
#include <string>
#include <vector>

#include "tasks/core/context.hpp"

namespace ctflow::tasks {

struct RegisterOptions {
  std::string model = "mnist";
  std::vector<std::string> artifacts = {"model", "index", "index-labels"};
  std::string deploy_alias;  // "" = register only; else also deploy under this alias
};

Result<TaskOutputs> run_register(const TaskContext& ctx, const RegisterOptions& o);

}  // namespace ctflow::tasks
