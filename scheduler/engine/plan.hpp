#pragma once
// The engine's decisions as pure functions of loaded state: no database, no clock, no files.
// Unit-tested without PostgreSQL (tests/unit/engine/). Thread-safe.
#include <boost/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "scheduler/common/time_util.hpp"
#include "scheduler/executor/executor.hpp"
#include "scheduler/spec/spec.hpp"
#include "scheduler/spec/template.hpp"

namespace ctflow::engine {

// Delay before attempt `failed_attempt + 1`: backoff * factor^(failed_attempt - 1), capped.
Millis backoff_delay(const spec::RetryPolicy& p, int failed_attempt);

// How an attempt ended, as observed by the executor and the engine.
struct AttemptOutcome {
  std::optional<int> exit_code;
  std::optional<int> signal;
  exec::Failure failure = exec::Failure::None;  // the executor's reason, when it gave one
  std::string error;         // executor error: "command not found: x", "lost: ..."
  std::string result_error;  // outputs file, artifact or registry problem after exit 0
  bool cancelled = false;    // the engine killed it because its run was cancelled
  bool timed_out = false;    // the engine killed it at its timeout
  bool not_started = false;  // adoption fenced it before it ever started: dispatch again
  // The engine stopped it to run it again (an early start with stale inputs): dispatch again,
  // like not_started, with this reason.
  std::string redo;
};

struct TaskFacts {
  int attempt = 1;  // the attempt that ended (1-based)
  int max_attempts = 1;
  spec::RetryPolicy retry;
  std::optional<Millis> timeout;
};

struct Transition {
  std::string state;          // succeeded | failed | ready (retry) | cancelled
  std::string attempt_state;  // succeeded | failed | cancelled | lost
  std::optional<std::string> error;
  std::optional<TimePoint> not_before;  // set for retries
  bool refund = false;                  // a never-started attempt does not use up a retry
};

Transition plan_completion(const TaskFacts& f, const AttemptOutcome& o, TimePoint now);

// What to do with a claimed task, given its spec and template context.
struct DispatchPlan {
  enum class Kind { Run, Skip, Fail };
  Kind kind = Kind::Run;
  std::vector<std::string> argv;                             // rendered
  std::vector<std::pair<std::string, std::string>> env;      // rendered literals
  std::vector<std::pair<std::string, std::string>> secrets;  // NAME -> secret name
  std::string executor = "local";                            // the task's (spec::Task::executor)
  std::string reason;                                        // Skip: the condition; Fail: the error
};
DispatchPlan plan_dispatch(const spec::Task& t, const spec::TemplateContext& ctx);
// Whether plan_dispatch may read the upstream outputs of the context: the task has a `when`, or
// a template in its command or environment.
bool reads_upstream(const spec::Task& t);

// Cache key parts: digests of the rendered command (argv + env, secret values included as
// digests), of the input artifacts (sorted ancestor artifact digests) and of the executable.
struct CacheComponents {
  std::string command, inputs, binary;
  boost::json::object to_json() const;
};
std::string cache_key(const CacheComponents& c);
// "hit: ..." is written by the engine; this explains a miss against the last key of the same
// pipeline's task (nullopt: there was none).
// "; image X is not pinned by digest ..." for a cache key on an unpinned image tag, else "".
std::string image_note(const std::string& binary);
std::string explain_miss(const std::optional<boost::json::object>& previous,
                         const CacheComponents& now);

// Transitive ancestors of task `index` (spec indices), nearest first (BFS), at most `cap`.
std::vector<int> ancestors(const spec::Pipeline& p, int index, size_t cap);
// The same over precomputed parent lists (parents[i]: spec indices of task i's needs).
std::vector<int> ancestors(const std::vector<std::vector<int>>& parents, int index, size_t cap);

// A pipeline's DAG by spec index, computed once per version (name lookups are linear).
struct Graph {
  std::vector<std::vector<int>> parents;
  std::vector<std::vector<int>> children;  // each in claim order: priority, then spec index
  bool any_hpo = false;                    // some task is a study ({{tasks.X.best.K}} may apply)
};
Graph build_graph(const spec::Pipeline& p);

}  // namespace ctflow::engine
