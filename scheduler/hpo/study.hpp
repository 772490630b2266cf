#pragma once
// The optimiser's library API: one suggestion step as a pure function of a study's configuration
// and its trials so far. The engine calls `suggest` in-process whenever a trial slot frees;
// `ctflow hpo ask` (ask.hpp) wraps the same call in JSON. Nothing is kept between calls: the
// optimiser state (Sobol index, GP fit) is recomputed from the trials every time, so a study
// resumes after a restart from its stored trials alone.
//
// Determinism: the answer depends only on (config, trials in order, count). Successive calls
// differ because the trials differ: Sobol points are indexed by the number of trials so far,
// pending ones included, and the Bayesian optimiser's random streams are seeded by
// (seed, number of trials). Thread-safe (no shared state).
//
// How the engine drives a study (one pass):
//   1. StudyConfig from the spec's hpo block (parse_algorithm, parse_goal, seed, space).
//   2. TrialRecords from the `trials` table in creation order (the order is part of the input:
//      keep ORDER BY id), pending for trials still queued or running.
//   3. suggest(config, trials, free_slots); insert the new trials in the same transaction that
//      records them as pending, so a crash between two passes never asks twice for one slot.
//   4. Stop creating trials at max_trials, or when a grid answers exhausted.
//   5. While trials run: median_should_prune (early_stopping.hpp) on their curves.
//   6. When all are done: best_trial() gives the params that become the study's outputs.
#include <boost/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "scheduler/common/result.hpp"
#include "scheduler/hpo/space.hpp"

namespace ctflow::hpo {

enum class Algorithm { Grid, Random, Bayes };
enum class Goal { Minimize, Maximize };

// "grid" | "random" | "bayes"; nullopt for anything else.
std::optional<Algorithm> parse_algorithm(std::string_view s);
std::optional<Goal> parse_goal(std::string_view s);  // "minimize" | "maximize"

struct StudyConfig {
  Algorithm algorithm = Algorithm::Bayes;
  Goal goal = Goal::Minimize;
  uint64_t seed = 0;
  SearchSpace space;
};

// Checks what an algorithm needs of a space beyond parse_space: a grid needs every float to
// have `values` or `step`, and at most kMaxGridPoints points. Errors as in parse_space.
inline constexpr uint64_t kMaxGridPoints = 1'000'000;
void check_space_for(Algorithm a, const SearchSpace& s, const std::string& path,
                     std::vector<std::string>& errors);

enum class TrialState {
  Pending,   // running or queued: no value yet; its params count as taken
  Complete,  // finished with `value`
  Failed,    // finished without a value; bayes treats it as the worst value seen so far, so the
             // region that crashed is not proposed again and again
  Pruned,    // stopped early; `value`, if present, is its best intermediate value. Bayes uses it
             // as an observation: median stopping only prunes trials that were worse than the
             // median at the same step, and for learning curves that still improve the partial
             // value is a pessimistic (worse-than-final) estimate, which steers the search away
             // from a region it has evidence is poor, the same effect as a failure but graded.
};

struct TrialRecord {
  boost::json::object params;  // NAME -> value, as suggested (every dimension of the space)
  TrialState state = TrialState::Pending;
  std::optional<double> value;  // the objective (finite); required for Complete
};

struct Suggestion {
  boost::json::object params;  // NAME -> value, inside the space's bounds / lattice / values
};

struct Suggestions {
  std::vector<Suggestion> suggestions;  // `count` entries, fewer only when exhausted
  bool exhausted = false;               // grid only: every grid point is taken
};

// One suggestion step. Errors (a value of the Error, never an exception): a trial whose params do
// not fit the space ("trials[3].params.lr: 5 is outside [0.0001, 0.1]"), a Complete trial
// without a finite value, count < 1, a space the algorithm cannot use (check_space_for).
Result<Suggestions> suggest(const StudyConfig& config, const std::vector<TrialRecord>& trials,
                            int count);

// Index of the best Complete trial (lowest value for Minimize, highest for Maximize; the earliest
// wins a tie), or nullopt if no trial is complete. Its params are the study's outputs
// ({{tasks.tune.best.lr}}). Pruned trials never win: their values are partial.
std::optional<size_t> best_trial(const std::vector<TrialRecord>& trials, Goal goal);

namespace detail {
// A trial encoded in the unit cube (see space.hpp), value oriented so that lower is better.
struct EncodedTrial {
  UnitPoint u;
  TrialState state = TrialState::Pending;
  std::optional<double> y;  // value for Minimize, -value for Maximize
};
Suggestions grid_suggest(const SearchSpace& s, const std::vector<TrialRecord>& trials, int count);
Suggestions random_suggest(const StudyConfig& c, size_t n_trials, int count);
Suggestions bayes_suggest(const StudyConfig& c, const std::vector<EncodedTrial>& trials, int count);
}  // namespace detail

}  // namespace ctflow::hpo
