#pragma once
// The pipeline spec: what a user declares in YAML/JSON, after parsing and validation.
// Pure data, no I/O. A validated Pipeline is immutable; its canonical JSON form (spec::to_json in
// canonical.hpp) is hashed (sha256) to give the content address of a pipeline version.
//
// Invariants of a Pipeline returned by spec::parse_pipeline (parse.hpp):
//  - names (pipeline, task, param, pool, secret) match [A-Za-z0-9_.-]{1,128};
//  - task names are unique, every `needs` entry names another task, and the needs form a DAG;
//  - every template names a declared param, a known run field, an upstream ancestor task
//    (`tasks.X.outputs.K`), an upstream hpo task (`tasks.X.best.K`) or, only inside
//    hpo.trial.run, a dimension of that task's space (`trial.NAME`);
//  - `defaults:` has already been applied: each Task carries its effective retry/timeout/cache.
// Thread-safety: plain values; concurrent reads are safe.
#include <boost/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "scheduler/common/time_util.hpp"
#include "scheduler/hpo/space.hpp"

namespace ctflow::spec {

enum class ParamType { String, Int, Float, Bool };

// params: {NAME: {type: string|int|float|bool, default: V, description: S}}; the shorthand
// `NAME: V` declares a param with default V and the type of V. Without `type`, the type is that of
// the default, or string when there is none.
struct Param {
  std::string name;
  ParamType type = ParamType::String;
  // Absent: the param is required at submit. Present: a value of `type` (int: an int64 JSON
  // number, float: a double, bool: a bool, string: a string).
  std::optional<boost::json::value> default_value;
  std::string description;
  bool operator==(const Param&) const = default;
};

// retry: {limit, backoff, factor, max_backoff}. A task's retry block falls back field by field to
// `defaults.retry`, then to the values below. Delay before retry n (1-based) is
// min(backoff * factor^(n-1), max_backoff).
struct RetryPolicy {
  int limit = 0;               // retries after the first attempt; >= 0
  Millis backoff{1000};        // delay before the first retry; >= 0
  double factor = 2.0;         // >= 1
  Millis max_backoff{60'000};  // cap on the delay; >= backoff
  bool operator==(const RetryPolicy&) const = default;
};

// One environment variable for a task: a literal value, or a secret read on the server from
// <data-dir>/secrets/<secret> at dispatch time (never stored in the spec, the database or logs).
// YAML: env: {NAME: "literal {{params.x}}", TOKEN: {secret: db-token}}. NAME matches
// [A-Za-z_][A-Za-z0-9_]* and must not start with CTFLOW_ (those are set by the executor).
struct EnvVar {
  std::string name;
  std::string value;   // literal (may contain templates), empty when `secret` is set
  std::string secret;  // secret name (a name, so never a path), empty for literals
  bool operator==(const EnvVar&) const = default;
};

// `when:` a condition on upstream outputs, e.g. "{{tasks.gate.outputs.promoted}} == true".
// Grammar: OPERAND [OP OPERAND] where OP is one of == != < <= > >=, and an operand is either a
// quoted literal ('...' or "...", no escapes) or an unquoted word that may contain templates
// (a template may contain spaces: "{{ params.x }}"). Operands are rendered first; the comparison
// is numeric when both sides parse as numbers, else by string (byte-wise for < <= > >=). A lone
// operand is true unless it renders to "", "0", "false" or "null" (case-insensitive).
// Evaluated at dispatch by spec::evaluate_condition (condition.hpp); false ends the task skipped.
struct Condition {
  std::string text;  // as written
  bool operator==(const Condition&) const = default;
};

// hpo: a study; see scheduler/hpo/. Validated by the spec validator (paths like every error).
// YAML: hpo: {algorithm, objective: {metric, goal}, max_trials, parallelism, seed, space,
//             early_stopping: {rule, min_trials, start_step}, trial: {run: [...]}}
struct HpoSpec {
  std::string algorithm = "bayes";  // grid | random | bayes
  std::string metric;               // objective metric name, read from the trial's metrics; set
  std::string goal = "maximize";    // minimize | maximize
  int max_trials = 10;              // >= 1
  int parallelism = 1;              // >= 1: trials running at once
  int seed = 0;                     // for random/bayes; the same seed gives the same suggestions
  hpo::SearchSpace space;           // parsed by hpo::parse_space; at least one dimension
  struct EarlyStopping {
    std::string rule = "median";  // only "median" for now
    int min_trials = 3;           // >= 1: completed trials before any is stopped
    int start_step = 1;           // >= 0: first step at which a trial may be stopped
    bool operator==(const EarlyStopping&) const = default;
  };
  std::optional<EarlyStopping> early_stopping;  // absent: no early stopping
  std::vector<std::string> trial_run;           // argv with {{trial.NAME}} templates; non-empty
};
// Compares every field (the space dimension by dimension).
bool operator==(const HpoSpec& a, const HpoSpec& b);

// A toleration of a Kubernetes Job's pod (k8s.tolerations), as in the core/v1 Toleration type.
struct Toleration {
  std::string key, op, value, effect;  // op: Exists | Equal ("" = Equal); effect may be ""
  std::optional<int64_t> seconds;      // tolerationSeconds (NoExecute only)
  bool operator==(const Toleration&) const = default;
};

// k8s: how a task with `executor: kubernetes` runs as a batch/v1 Job. `defaults.k8s` gives every
// task its fields; a task's own k8s block overrides them field by field (maps key by key).
// YAML: k8s: {image, resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {...}},
//             nodeSelector: {k: v}, tolerations: [...], serviceAccountName,
//             ttlSecondsAfterFinished}
// Quantities follow Kubernetes' resource.Quantity syntax; names its DNS rules.
struct K8sSpec {
  std::string image;  // empty: the server's --k8s-image
  std::map<std::string, std::string> requests, limits, node_selector;
  std::vector<Toleration> tolerations;
  std::string service_account;     // empty: the server's --k8s-service-account, or none
  std::optional<int> ttl_seconds;  // ttlSecondsAfterFinished; absent: 3600
  bool operator==(const K8sSpec&) const = default;
};

struct Task {
  std::string name;
  std::string description;
  std::vector<std::string> needs;  // upstream task names, as written (no duplicates)
  // argv (never a shell string); templates allowed; empty iff hpo. YAML numbers and booleans are
  // accepted and kept as written ("1.0e-4", "007", "true").
  std::vector<std::string> run;
  std::vector<EnvVar> env;  // sorted by name (YAML maps have no order)
  std::optional<Condition> when;
  std::string pool;  // empty: no pool; else a key of Pipeline::pools
  RetryPolicy retry;
  std::optional<Millis> timeout;  // per attempt; absent: none. > 0
  bool cache = false;             // off unless `cache: true` (here or in defaults)
  int priority = 0;               // lower runs first among ready tasks
  std::optional<HpoSpec> hpo;     // set: this task is a study; `run` is empty
  // Where it runs: "local" (a process on the server's machine) or "kubernetes" (a batch/v1 Job;
  // `k8s` then holds its settings, defaults.k8s merged in). From the task, else `defaults`.
  std::string executor = "local";
  K8sSpec k8s;
  bool operator==(const Task&) const = default;
};

// schedule: {cron, timezone, catchup, concurrency, max_active_runs, start, end}
struct Schedule {
  std::string cron;                     // accepted by cron::parse_cron
  std::string timezone = "UTC";         // accepted by cron::check_time_zone
  std::string catchup = "none";         // all | latest | none
  std::string concurrency = "allow";    // allow | forbid | replace
  int max_active_runs = 0;              // >= 0; 0: unlimited
  std::optional<TimePoint> start, end;  // ISO-8601; end > start when both are set
  bool operator==(const Schedule&) const = default;
};

// monitor: the control plane watches the prediction log of a deployed model and starts a run of
// this pipeline (trigger "monitor") when live accuracy or input drift crosses a threshold
// (scheduler/monitor/). YAML:
//   monitor: {model, alias, window, min_labels, accuracy_below, drift: {metric, feature,
//             threshold}, cooldown}
// Windows count predictions of the version `alias` points at, ordered by prediction time:
//   - accuracy: over its `window` most recent labelled predictions, once at least `min_labels`
//     of them exist;
//   - drift: its `window` most recent predictions against the reference, its first `window`
//     predictions (what the version saw when it went live), once it has 2 x window of them;
//     metric psi (population stability index over 10 reference-decile bins, or the classes for
//     `prediction`) or ks (two-sample Kolmogorov-Smirnov statistic); feature mean | ink (the
//     input summary) | prediction (the class distribution).
// At least one of accuracy_below and drift. After a run is started, none is started again
// before `cooldown` has passed, nor while a run it started is still active, nor while the
// pipeline is at its `concurrency`. The run's logical date is the monitor's "now"; its params
// are those of the run that trained the deployed version (when it was a run of this pipeline),
// else the defaults.
struct Monitor {
  std::string model;                     // a registry model name
  std::string alias = "production";      // [A-Za-z0-9_.-]{1,64}
  int window = 1000;                     // 10..100000 predictions
  int min_labels = 100;                  // 1..window
  std::optional<double> accuracy_below;  // in (0,1]: trigger when accuracy < this
  struct Drift {
    std::string metric = "psi";  // psi | ks
    std::string feature;         // mean | ink | prediction
    double threshold = 0.2;      // > 0: trigger when drift > this
    bool operator==(const Drift&) const = default;
  };
  std::optional<Drift> drift;
  Millis cooldown{3'600'000};  // >= 0
  bool operator==(const Monitor&) const = default;
};

struct Pipeline {
  std::string name;
  std::string description;
  std::vector<Param> params;          // sorted by name (YAML maps have no order)
  std::map<std::string, int> pools;   // pools: {NAME: slots}; slots >= 1
  int concurrency = 0;                // max active runs of this pipeline; 0 = unlimited
  std::optional<Millis> run_timeout;  // YAML `run_timeout`; whole run; > 0
  std::optional<Schedule> schedule;
  std::optional<Monitor> monitor;
  std::vector<Task> tasks;  // in declaration order; names unique; needs form a DAG

  const Task* task(const std::string& name) const;  // nullptr if absent
  int task_index(const std::string& name) const;    // -1 if absent
  bool operator==(const Pipeline&) const = default;
};

// Limits enforced by the validator (reported as errors with their path). They guard the server
// against hostile input while leaving room for a generated pipeline of 100,000 tasks (issue 22):
// such a spec in compact flow YAML is about 5.4 MB and 950,000 YAML nodes (make bench-scale).
// They apply to input only: a stored version (our own canonical JSON of a spec that passed them,
// several times the input's size) is read back by parse_stored_pipeline without the byte and
// node limits, so that a spec accepted once always runs.
constexpr size_t kMaxSpecBytes = 8 << 20;  // 8 MiB of YAML/JSON text
constexpr size_t kMaxTasks = 100'000;
constexpr size_t kMaxArgs = 1'000;  // per argv (run, hpo.trial.run)
constexpr size_t kMaxNameLength = 128;
constexpr size_t kMaxErrors = 100;  // lines reported; the rest are counted in one last line
constexpr size_t kMaxYamlNodes = 2'000'000;  // in all, aliases expanded
constexpr size_t kMaxAliasNodes = 500'000;   // copied by aliases (guards "billion laughs")

const char* param_type_name(ParamType t);  // "string", "int", "float", "bool"

}  // namespace ctflow::spec
