#pragma once
// Executor: where a task's process runs. The engine calls start/cancel/adopt from its own thread;
// results come back as events, drained by the engine after the wake-up callback fires.
// Implementations: local/ (processes on this machine, via a supervisor process); kubernetes/
// (batch/v1 Jobs) later. Deterministic references: a task attempt's ref is derived from
// (task_run_id, attempt), so an adopter finds what an earlier owner started (Argo's rule).
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "scheduler/common/time_util.hpp"
#include "scheduler/spec/spec.hpp"

namespace ctflow::exec {

// "<task_run_id>-<attempt>": names an attempt everywhere (its folder, its executor_ref suffix,
// the engine's map of running attempts). The store's dispatch statements build it in SQL.
inline std::string attempt_key(int64_t task_run_id, int attempt) {
  return std::to_string(task_run_id) + "-" + std::to_string(attempt);
}

// Where an attempt runs, and what an executor other than the local one needs to name and shape
// it (a Kubernetes Job's name, labels, deadline, secret references).
struct Placement {
  std::string executor = "local";  // "local" | "kubernetes" (spec::Task::executor)
  spec::K8sSpec k8s;               // kubernetes: the task's settings (defaults merged)
  std::string pipeline, task;
  int64_t run_id = 0;
  int attempt = 0;
  std::optional<std::chrono::milliseconds> timeout;  // the task's, per attempt
  // env NAME -> secret name: a Kubernetes Secret's `value` key through secretKeyRef, never a
  // plain value in the Job (the local executor gets the values in `env` instead).
  std::vector<std::pair<std::string, std::string>> secrets;
  bool local() const { return executor == "local"; }
};

// The attempt folder an executor_ref names ("local:<host>:<dir>" -> "<dir>"; "" for another
// form), and the attempt key of a folder (its last component). Every executor's attempts live in
// these folders (the Kubernetes executor's on the volume its pods mount).
inline std::string attempt_dir_of_ref(const std::string& ref) {
  if (ref.rfind("local:", 0) != 0) return "";
  auto colon = ref.find(':', 6);
  return colon == std::string::npos ? "" : ref.substr(colon + 1);
}
inline std::string attempt_key_of_dir(const std::string& dir) {
  auto slash = dir.find_last_of('/');
  return slash == std::string::npos ? dir : dir.substr(slash + 1);
}

struct SpawnRequest {
  std::string key;                // attempt_key(task_run_id, attempt)
  std::vector<std::string> argv;  // argv[0] resolved against PATH from `env`
  std::vector<std::string> env;   // "NAME=value"
  // Written into the attempt's folder before the process starts (name -> content).
  std::vector<std::pair<std::string, std::string>> files;
  Placement placement;
};

// Why an attempt ended without an exit code of its own, or was refused: the engine decides
// retries and states on this, never on the message's text.
enum class Failure {
  None,
  NotFound,              // the command (or image) does not exist: retrying cannot help
  SpawnFailed,           // the process or Job could not be started (resources, API refused it)
  Lost,                  // its process and exit record are gone (machine or supervisor died)
  Fenced,                // an adopter owns the attempt now: this executor lets it go
  CancelledBeforeStart,  // cancelled while waiting to start
  OomKilled,             // killed for exceeding its memory limit
  ImagePull,             // its container image could not be pulled
  DeadlineExceeded,      // its executor's deadline (activeDeadlineSeconds) passed
  Evicted,               // the node evicted it (pressure, drain)
  Config,                // the executor is not configured or refused our credentials
};
const char* failure_name(Failure f);  // "oom_killed", ...
// Whether another attempt could end differently (not for NotFound, Config).
bool failure_retryable(Failure f);

struct ExecEvent {
  enum class Kind { Started, Exited };
  Kind kind = Kind::Exited;
  std::string key;
  int pid = 0;
  std::optional<int> exit_code;     // normal exit
  std::optional<int> signal;        // killed by a signal
  Failure failure = Failure::None;  // why, when it did not simply exit
  std::string error;  // the message for people ("command not found: foo", "OOMKilled: ...")
  TimePoint at{};
  // Exited: the attempts armed on this one (ChainAcceleration::arm) that its success started.
  std::vector<std::string> fired;
};

// What an event that wakes the engine is (Executor::set_wakeup).
enum class Wake {
  Started,  // a process started
  Fired,    // an exit that started the attempts armed on it: the work goes on without the engine
  Exited,   // any other exit (or error)
};

// The error of an attempt whose process and exit record are both gone.
inline constexpr const char* kLostError =
    "lost: the process and its exit record are gone (its machine or supervisor died)";

// What adoption found for an attempt started by another (possibly dead) server.
enum class AdoptState {
  Finished,    // exit recorded: an Exited event is queued
  Running,     // still running: an Exited event will be queued when it ends
  NotStarted,  // never spawned, and now fenced so it never will be: safe to dispatch again
  Lost,        // no record and no process: the attempt is lost (retry per policy)
};

// An optional capability (Executor::chain_acceleration): starting a chain's next step without
// waiting for the engine. The local executor offers it; an executor that cannot start work
// before the database records it (Kubernetes) returns none, and the engine then dispatches every
// task after its commit. Called from the engine thread.
class ChainAcceleration {
 public:
  virtual ~ChainAcceleration() = default;
  // Records, where an adopter of the finished attempt `parent_key` will look, that the first
  // attempt `child_key` of one of its children is about to be started before the commit that
  // dispatches it (the engine's early start). Executor::start() of an attempt that was started
  // that way (here, or by a server that died before its commit) takes the running or finished
  // process over instead of starting another. False: nowhere to record it; the engine then
  // starts the child after the commit.
  virtual bool note_early_start(const std::string& parent_key, const std::string& child_key) = 0;
  // A hint: these attempts may start soon (the first attempts of a task's children, while the
  // task runs). Their folders may be made now. Nothing is started or claimed.
  virtual void prepare(const std::vector<std::string>& keys) = 0;
  // Arms `child` on `parent_key`: when that attempt (running, or itself armed) exits 0 without
  // an outputs file, the executor starts `child` at once, as if started early by the engine
  // (its key is in the parent's Exited event, `fired`, and recorded where an adopter of the
  // parent looks, as note_early_start does), without waiting for the engine. Any other end of
  // the parent drops the child and whatever is armed on it. False: the request is too big;
  // nothing was armed.
  virtual bool arm(const std::string& parent_key, const SpawnRequest& child) = 0;
  // Drops what is armed on `parent_key`, and on those, recursively. cancel() does it too.
  virtual void disarm(const std::string& parent_key) = 0;
  // At most `n` attempts started here run at once; attempts started beyond that wait for a
  // running one to end (the engine dispatches ahead of its slots). Negative: no limit.
  virtual void limit(int n) = 0;
};

// Where task attempts run. The core contract: start, cancel, adopt, drain events, wake-up,
// shutdown; an attempt's folder (the task contract's files) and the identity of the code a
// command runs (cache keys). Nothing here assumes a process, a pid or a host.
class Executor {
 public:
  virtual ~Executor() = default;
  // The attempt's folder: inputs.json, outputs.json, metrics.jsonl, task.log, work/ (cwd).
  virtual std::string attempt_dir(const std::string& key) const = 0;
  virtual std::string ref_prefix() const = 0;  // executor_ref = ref_prefix + key
  // Starts the attempt; never blocks on it. Failure to start comes back as an Exited event.
  // An attempt already started early (ChainAcceleration) is taken over, not started again.
  virtual void start(const SpawnRequest& req) = 0;
  // Stops the attempt: a polite signal now, a forced stop after `grace`.
  virtual void cancel(const std::string& key, std::chrono::milliseconds grace) = 0;
  virtual AdoptState adopt(const std::string& executor_ref) = 0;
  // The attempt's log as it is now (the task's stdout and stderr), wherever it ran; the local
  // and Kubernetes executors both keep it in the attempt's folder (task.log).
  virtual std::string log_path(const std::string& key) const {
    return attempt_dir(key) + "/task.log";
  }
  // The identity of the code that `program` (a command's argv[0]) runs, for cache keys: the
  // digest of the resolved binary, or of a container image. "none" when it cannot be found.
  // `search_path`: the PATH given to tasks. Engine thread only.
  virtual std::string code_digest(const std::string& program, const std::string& search_path,
                                  const Placement& where) = 0;
  // The optional chain acceleration; null when this executor has none.
  virtual ChainAcceleration* chain_acceleration() { return nullptr; }
  // Moves pending events out. Thread-safe.
  virtual std::vector<ExecEvent> drain() = 0;
  // Called (from any thread) whenever events are pending, with what the new event is: the
  // engine may coalesce starts, and the exits that started what was armed on them, into a
  // later pass.
  virtual void set_wakeup(std::function<void(Wake)> fn) = 0;
  virtual void shutdown() = 0;
};

}  // namespace ctflow::exec
