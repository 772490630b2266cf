#pragma once
// The pipeline spec: what a user declares in YAML/JSON, after parsing and validation.
// Pure data, no I/O. A validated Pipeline is immutable; its canonical JSON form (to_json) is hashed
// (sha256) to give the content address of a pipeline version.
#include <boost/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "scheduler/common/time_util.hpp"
#include "scheduler/hpo/space.hpp"

namespace ctflow::spec {

enum class ParamType { String, Int, Float, Bool };

struct Param {
  std::string name;
  ParamType type = ParamType::String;
  std::optional<boost::json::value> default_value;  // absent: the param is required at submit
  std::string description;
};

// retry: {limit, backoff, factor, max_backoff}. limit = number of retries after the first attempt.
struct RetryPolicy {
  int limit = 0;
  Millis backoff{1000};
  double factor = 2.0;
  Millis max_backoff{60'000};
};

// One environment variable for a task: a literal value, or a secret read on the server from
// <data-dir>/secrets/<secret> at dispatch time (never stored in the spec, the database or logs).
struct EnvVar {
  std::string name;
  std::string value;   // literal (may contain templates), empty when `secret` is set
  std::string secret;  // secret name, empty for literals
};

// `when:` a condition on upstream outputs, e.g. "{{tasks.gate.outputs.promoted}} == true".
// Grammar: OPERAND [OP OPERAND] where OP is one of == != < <= > >= and an operand is a template or
// a literal; a lone operand is true unless it is "", "false", "0" or "null". Rendered at dispatch.
struct Condition {
  std::string text;  // as written; evaluated by spec::evaluate_condition after templating
};

// hpo: a study; see scheduler/hpo/. Validated by the spec validator (paths like every error).
struct HpoSpec {
  std::string algorithm = "bayes";  // grid | random | bayes
  std::string metric;               // objective metric name, read from the trial's metrics
  std::string goal = "maximize";    // minimize | maximize
  int max_trials = 10;
  int parallelism = 1;
  int seed = 0;
  hpo::SearchSpace space;
  struct EarlyStopping {
    std::string rule = "median";
    int min_trials = 3;
    int start_step = 1;
  };
  std::optional<EarlyStopping> early_stopping;
  std::vector<std::string> trial_run;  // argv with {{trial.NAME}} templates
};

struct Task {
  std::string name;
  std::vector<std::string> needs;  // upstream task names
  std::vector<std::string> run;    // argv (never a shell string); templates allowed
  std::vector<EnvVar> env;
  std::optional<Condition> when;
  std::string pool;  // empty: no pool
  RetryPolicy retry;
  std::optional<Millis> timeout;
  bool cache = false;
  int priority = 0;  // lower runs first among ready tasks
  std::optional<HpoSpec> hpo;  // set: this task is a study; `run` is empty
};

struct Schedule {
  std::string cron;
  std::string timezone = "UTC";
  std::string catchup = "none";       // all | latest | none
  std::string concurrency = "allow";  // allow | forbid | replace
  int max_active_runs = 0;            // 0: unlimited
  std::optional<TimePoint> start, end;
};

struct Pipeline {
  std::string name;
  std::string description;
  std::vector<Param> params;  // in declaration order
  std::map<std::string, int> pools;  // pool name -> slots, declared by this pipeline
  int concurrency = 0;               // max active runs of this pipeline; 0 = unlimited
  std::optional<Millis> run_timeout;
  std::optional<Schedule> schedule;
  std::vector<Task> tasks;  // in declaration order; names unique; needs form a DAG

  const Task* task(const std::string& name) const;
  int task_index(const std::string& name) const;  // -1 if absent
};

// Limits enforced by the validator (reported as errors with their path).
constexpr size_t kMaxSpecBytes = 1 << 20;  // 1 MiB
constexpr size_t kMaxTasks = 10'000;
constexpr size_t kMaxArgs = 1'000;
constexpr size_t kMaxNameLength = 128;

}  // namespace ctflow::spec
