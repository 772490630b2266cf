#pragma once
// The task side of the task contract (../shared/DESIGN.md "Task contract"): what a subcommand
// reads (the inputs document written by the engine) and what it returns (outputs, artifacts,
// registry operations). Subcommands never read the environment themselves: main.cpp builds a
// TaskContext from CTFLOW_* and writes the TaskOutputs, so tests call subcommands in-process.
// Not thread-safe; one context per task process.
#include <cmath>
#include <cstdio>
#include <map>
#include <string>

#include "scheduler/common/json_util.hpp"
#include "scheduler/common/result.hpp"

namespace ctflow::tasks {

// An artifact a task can read: a single file (absolute path), with its kind and digest when the
// engine stored it (digest is empty for --input overrides).
struct ArtifactRef {
  std::string task;  // the upstream task that produced it ("" for --input overrides)
  std::string name;
  std::string path;
  std::string digest;
  std::string kind;
};

// Appends metric lines {"name","value","step"} to CTFLOW_METRICS, flushing each line so that the
// engine can tail the file while the task runs. A writer without a path drops every line.
class MetricsWriter {
 public:
  explicit MetricsWriter(const std::string& path = "");
  ~MetricsWriter();
  MetricsWriter(const MetricsWriter&) = delete;
  MetricsWriter& operator=(const MetricsWriter&) = delete;
  void write(const std::string& name, double value, int64_t step);

 private:
  std::FILE* f_ = nullptr;
};

struct TaskContext {
  std::string workdir = ".";  // where the task writes its artifact files (the attempt's cwd)
  json::object inputs;        // CTFLOW_INPUTS: {"run", "params", "tasks", "models"}; may be empty
  std::map<std::string, std::string> overrides;  // --input NAME=PATH, consulted first
  MetricsWriter* metrics = nullptr;              // may be null

  // Finds an upstream artifact. `spec` is "NAME" (searched in every upstream task; ambiguity is
  // an error naming the candidates) or "TASK/NAME". Errors say what was looked for and where.
  Result<ArtifactRef> artifact(const std::string& spec) const;
  // The outputs object of the first upstream task that has output `key` (or TASK/KEY); nullptr
  // when absent.
  const json::value* upstream_output(const std::string& spec) const;
  // Absolute path for an artifact file this task writes.
  std::string out_path(const std::string& file) const;
  void metric(const std::string& name, double value, int64_t step) const {
    if (metrics) metrics->write(name, value, step);
  }
};

// What a subcommand produces; main.cpp serialises it to CTFLOW_OUTPUTS.
struct TaskOutputs {
  json::object outputs;
  json::object artifacts;  // NAME -> {"path", "kind"}
  json::array registry;
  void add_artifact(const std::string& name, const std::string& path, const std::string& kind);
  json::object to_json() const;
};

// Reads and parses CTFLOW_INPUTS. A missing or malformed file is an error naming the file.
Result<json::object> load_inputs(const std::string& path);

// Writes the outputs document atomically. Returns an error naming the file on failure.
Result<bool> write_outputs(const std::string& path, const TaskOutputs& out);

// The helper tests and scripts use to chain tasks without the engine: records `out` of task
// `task` (artifact paths resolved against `workdir`) into an inputs document.
void record_upstream(json::object& inputs, const std::string& task, const TaskOutputs& out,
                     const std::string& workdir);

}  // namespace ctflow::tasks
