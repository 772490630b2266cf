#pragma once
// The final rows of a scenario's database in a form that two servers' databases can be compared
// in: one line per row of runs, task_runs, task_attempts, studies, trials and metrics, keyed by
// what the scenario controls (run number in submission order, task name, attempt or trial number)
// and holding only columns whose values do not depend on the process that wrote them.
//
// Left out or reduced to "is it set": ids and foreign ids (replaced by names and numbers),
// timestamps (finished/deadline/lease: only whether set; task_runs.started_at not at all), lease
// owners, executor refs, attempt owners and log paths (per server and host), cache keys and
// components (digests over argv that holds the case's scratch folder), pipeline version ids. Kept
// as text: states, counters, attempt numbers, pending_deps, params, outputs, errors, exit codes,
// argv, cache reasons, trial params and values. Paths of the scratch folder and the server's data
// dir are replaced by @DIR@ and @DATA@. tests/testdata/runs/README.md lists the columns.
//
// Used from one thread. Errors: database errors throw pqxx exceptions.
#include <string>
#include <utility>
#include <vector>

namespace ctflow::it::scenario {

// "KEY | col=value | col=value ..." lines, sorted. `replace` pairs (from, to) are applied to
// every value.
std::vector<std::string> snapshot(const std::string& db_url,
                                  const std::vector<std::pair<std::string, std::string>>& replace);

// Readable differences between two snapshots: "task 1/b: state: fast=failed plain=succeeded",
// "attempt 1/b/2: only in plain: ...". Empty when they agree.
std::vector<std::string> diff(const std::vector<std::string>& a, const std::string& a_name,
                              const std::vector<std::string>& b, const std::string& b_name);

}  // namespace ctflow::it::scenario
