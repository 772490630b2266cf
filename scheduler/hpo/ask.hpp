#pragma once
// `ctflow hpo ask`: one suggestion step as a stateless JSON-in, JSON-out command (issue 6).
//
// stdin: {"algorithm": "grid"|"random"|"bayes", "seed": 0, "objective": {"goal": "minimize"|
//          "maximize"}, "space": {NAME: {...}}, "trials": [{"params": {..}, "value": 1.5},
//          {"params": {..}}], "count": 1}
//   `seed` (default 0), `objective` (default minimize), `trials` (default []) and `count`
//   (default 1, at most 1000) may be omitted; other top-level keys are errors (catches typos).
//   A trial without `value` is pending. A trial may also carry "state": "pending" | "complete" |
//   "failed" | "pruned" (see TrialState in study.hpp); without it the state is complete when
//   `value` is present and pending otherwise.
// stdout: {"suggestions": [{"params": {..}}, ...]} with `count` entries, or fewer and
//   "exhausted": true (grid), and nothing else.
// Bad input: exit code 2 and one line on stderr naming the field ("space.lr.min: must be > 0
//   when log is true"); nothing on stdout.
#include <iosfwd>
#include <string>

#include "scheduler/common/result.hpp"
#include "scheduler/hpo/study.hpp"

namespace ctflow::hpo {

struct AskRequest {
  StudyConfig config;
  std::vector<TrialRecord> trials;
  int count = 1;
};

// Parses and validates a request (the whole text). Error: the first problem, "FIELD: reason".
Result<AskRequest> parse_ask_request(const std::string& text);

// Serialises suggestions as the stdout document above.
std::string format_suggestions(const Suggestions& s);

// Reads the request from `in`, writes the answer to `out` or one error line to `err`.
// Returns 0 on success, 2 on bad input.
int hpo_ask_main(std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace ctflow::hpo
