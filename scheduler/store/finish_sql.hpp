#pragma once
// The statement that finishes tasks (store::finish_tasks), put together from named parts. One
// statement ends a batch of attempts and their task runs, counts the children they ready,
// dispatches those the engine prepared (and known ready tasks by id), records a chain's segment,
// bumps the run counters, finishes completed runs and writes the events. Its six forms differ
// only in the parts a batch needs, so PostgreSQL plans and runs nothing more than that:
//   by_id    known ready tasks to dispatch by id ($7 candidates, $8/$9 the largest claim key)
//   segment  steps of a chain that ended already (DirectDispatch::done)
//   leaves   no succeeded task has children (a fan-out's leaves): no k/kids parts
// Parameters: $1 finishes, $2 prepared children, $3 lease owner, $4 lease ms, $5 executor ref
// prefix, $6 the deployments the prepared inputs name, $7-$9 by id.
#include <array>
#include <string>
#include <string_view>

namespace ctflow::store {

struct FinishForm {
  bool by_id = false, segment = false, leaves = false;
  bool operator==(const FinishForm&) const = default;
};
// Every form used (a segment is the children of a finished step, so never with `leaves`).
inline constexpr std::array<FinishForm, 6> kFinishForms{{{false, false, false},
                                                         {false, true, false},
                                                         {true, false, false},
                                                         {true, true, false},
                                                         {false, false, true},
                                                         {true, false, true}}};

// The result rows of the statement, told apart by their first column.
enum class FinishRow {
  Finished = 0,     // a finish that applied: id
  Dispatched = 1,   // a task dispatched: id, run_id, attempt id, spec_index, attempt, max_attempts
  Summary = 2,      // one row: ready tasks left (int), the deployments (JSON) when dispatched
  Readied = 3,      // a child made ready: id, run_id, priority, spec_index, attempt
  SegmentStep = 4,  // a segment's step recorded: as Dispatched
};

// The statement of `form`, built once (throws std::logic_error for a form not in kFinishForms).
const std::string& finish_sql(FinishForm form);
std::string build_finish_sql(FinishForm form);

// The CTEs `d` and `r` that bump run counters by the final transitions in `source` (a relation
// with columns run_id, state, e.g. the CTE "t") and finish the runs that completed; shared with
// propagate.
std::string run_counters(std::string_view source);

}  // namespace ctflow::store
