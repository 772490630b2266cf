#pragma once
// Stages of parse_pipeline, internal to the spec module. Each appends "PATH: reason" errors and
// fills what it could read, so that later stages still see every task at its index.
#include <boost/json.hpp>

#include <optional>
#include <set>
#include <string>

#include "scheduler/spec/reader.hpp"
#include "scheduler/spec/spec.hpp"
#include "scheduler/spec/yaml_json.hpp"

namespace ctflow::spec::detail {

// What `defaults:` gives a task that does not set the field itself.
struct TaskDefaults {
  RetryPolicy retry;
  std::optional<Millis> timeout;
  bool cache = false;
  std::string executor = "local";
  K8sSpec k8s;
};

// Reads a `k8s:` block over `base` (fields not given keep base's values; maps merge by key).
K8sSpec read_k8s(const boost::json::value& v, const std::string& path, K8sSpec base,
                 Errors& errors);

// Reads `retry:` over `base` (fields not given keep base's values).
RetryPolicy read_retry(const boost::json::value& v, const std::string& path, RetryPolicy base,
                       Errors& errors);

// Reads one entry of `tasks:`. `pools` holds the names declared under `pools:`.
// `numbers` keeps the written text of numbers (argv and env values use it).
Task read_task(const boost::json::value& v, const std::string& path, const TaskDefaults& defaults,
               const std::set<std::string>& pools, const NumberTexts& numbers, Errors& errors);

// Reads an argv list (`run`, `hpo.trial.run`).
std::vector<std::string> read_argv(const boost::json::value& v, const std::string& path,
                                   const NumberTexts& numbers, Errors& errors);

// Reads an `hpo:` block.
HpoSpec read_hpo(const boost::json::value& v, const std::string& path, const NumberTexts& numbers,
                 Errors& errors);

// Duplicate names, unknown and self dependencies, duplicate needs, cycles.
void validate_graph(const Pipeline& p, Errors& errors);

// Every template in run, env, when and hpo.trial.run (see template.hpp for the rules).
void validate_templates(const Pipeline& p, Errors& errors);

}  // namespace ctflow::spec::detail
