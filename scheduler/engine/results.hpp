#pragma once
// Reading what a task left in its attempt folder (the task contract in DESIGN.md): the outputs
// file, its artifacts (hashed with sha256 into the content-addressed store) and metric lines.
// Runs on the engine thread, outside any transaction. Errors are values naming the file and field.
#include <boost/json.hpp>

#include <string>
#include <vector>

#include "scheduler/common/result.hpp"
#include "scheduler/store/records.hpp"

namespace ctflow::engine {

constexpr size_t kMaxOutputsBytes = 16 << 20;

struct TaskResult {
  boost::json::object outputs;
  std::vector<store::ArtifactOut> artifacts;
  boost::json::array registry;
};

// Reads `outputs_path` (absent: empty outputs) and stores each artifact file under
// `store_root`/sha256/<2 hex>/<digest>. An artifact's path is relative to `work_dir` (or absolute
// under it) and must stay inside it with no symbolic link on the way: anything else is an error.
Result<TaskResult> read_task_result(const std::string& outputs_path, const std::string& work_dir,
                                    const std::string& store_root);

// Copies (or hard-links) a file of `work_dir` into the store; returns digest, size and stored path.
// The file is opened once, without following symbolic links, and what was hashed is what is
// stored; a partial copy (e.g. no space left on the device) is removed, never stored.
Result<store::ArtifactOut> store_artifact(const std::string& work_dir, const std::string& file,
                                          const std::string& store_root);

// Parses complete JSON lines of `path` from byte `offset`; returns the points and the new
// offset (a trailing partial line is left for later). Lines that are not metric objects are
// skipped (counted in *skipped).
std::vector<store::MetricPoint> read_metrics(const std::string& path, int64_t& offset,
                                             int* skipped = nullptr);

}  // namespace ctflow::engine
