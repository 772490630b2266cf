#pragma once
// Test helpers for ctflow-task: temporary directories, an in-process pipeline that chains
// subcommands the way the engine does (fresh directory per task, inputs document with every
// upstream task's outputs and artifacts), and running the real binary as a separate process.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "tasks/core/context.hpp"

namespace ctflow::tasks::test {

namespace fs = std::filesystem;

// A fresh directory under the system temp folder, removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "ctflow-tasks-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data()) ? tmpl : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& p) const { return (fs::path(path_) / p).string(); }

 private:
  std::string path_;
};

// Chains tasks in-process: step() runs `fn` in <root>/<name> with the inputs so far and, on
// success, records its outputs for later steps.
class Pipeline {
 public:
  explicit Pipeline(std::string root) : root_(std::move(root)) {
    inputs["run"] = json::object{{"id", "7"},
                                 {"pipeline", "mnist-ct"},
                                 {"pipeline_version", "abc123"},
                                 {"logical_date", "2026-03-01T00:00:00Z"}};
    inputs["tasks"] = json::object();
  }
  template <class Fn>
  Result<TaskOutputs> step(const std::string& name, Fn fn) {
    TaskContext ctx;
    ctx.workdir = (fs::path(root_) / name).string();
    fs::create_directories(ctx.workdir);
    ctx.inputs = inputs;
    MetricsWriter metrics(ctx.workdir + "/metrics.jsonl");
    ctx.metrics = &metrics;
    Result<TaskOutputs> r = fn(ctx);
    if (r) record_upstream(inputs, name, *r, ctx.workdir);
    return r;
  }
  std::string dir(const std::string& name) const { return (fs::path(root_) / name).string(); }
  json::object inputs;

 private:
  std::string root_;
};

struct Exit {
  int code = -1;
  std::string err;  // stderr
};

// Runs build/ctflow-task with `args` (a shell-quoted string) in `cwd`, no CTFLOW_* env except
// those in `env` ("K=V K2=V2"), and returns its exit code and stderr.
inline Exit run_binary(const std::string& cwd, const std::string& args,
                       const std::string& env = "") {
  const std::string err = cwd + "/stderr.txt";
  std::string cmd = "cd '" + cwd + "' && env -u CTFLOW_INPUTS -u CTFLOW_OUTPUTS " + env + " '" +
                    std::string(CTFLOW_BINARY_DIR) + "/ctflow-task' " + args + " > /dev/null 2> '" +
                    err + "'";
  int status = std::system(cmd.c_str());
  Exit e;
  e.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::ifstream in(err);
  e.err.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return e;
}

// The last non-empty line of `text`.
inline std::string last_line(const std::string& text) {
  size_t end = text.find_last_not_of('\n');
  if (end == std::string::npos) return "";
  size_t start = text.rfind('\n', end);
  return text.substr(start == std::string::npos ? 0 : start + 1,
                     end - (start == std::string::npos ? 0 : start + 1) + 1);
}

}  // namespace ctflow::tasks::test
