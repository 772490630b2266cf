#pragma once
// Hyperparameter studies inside the engine. A task with an `hpo:` block is a study:
//  - Claimed, it starts no process. prepare_hpo() turns it into the study's DRIVER: a studies
//    row, the task run 'running' without lease or attempt (adoption leaves it alone), and the
//    first min(parallelism, max_trials) trials from hpo::suggest.
//  - Each trial is a CHILD task run "NAME[N]" (parent_task_run_id = the driver, no task_edges),
//    state ready; engines claim and run it like any task. Its argv is hpo.trial.run rendered with
//    {{trial.NAME}} plus the usual params/run/tasks namespaces (prepare_hpo returns that task).
//  - step_studies() runs in the transaction that finished trial task runs (hooked after
//    finish_tasks) and on every sweep: it records finished trials (value = the LAST value of the
//    objective metric the trial wrote to its metrics file, else outputs[METRIC]; a trial without
//    either is failed), asks hpo::suggest for the free slots, and, once max_trials trials are
//    final (or a grid is exhausted), finishes the driver with outputs
//      {"best": {...params, METRIC: value}, "best_trial": N, "value": value, "trials": n}
//    so that {{tasks.NAME.best.KEY}} works downstream (add_best_values()).
//  - maybe_prune() applies median early stopping when a running trial's metrics are tailed.
// Restarts: every decision is recomputed from the `studies`/`trials` rows inside the locked
// transaction (the optimiser state is never only in memory), and trial rows are created in the
// same transaction as the suggestion, so kill -9 at any moment neither loses nor duplicates a
// trial. All functions run on the engine thread with its transaction; none commits.
#include <optional>
#include <string>
#include <vector>

#include "scheduler/spec/spec.hpp"
#include "scheduler/spec/template.hpp"
#include "scheduler/store/db.hpp"
#include "scheduler/store/records.hpp"

namespace ctflow::engine {

// For a claimed task whose spec has `hpo`. A trial: returns the task to run (hpo.trial.run as
// `run`, no `when`, no cache) and sets ctx.trial. The driver: returns nullopt with finish.state
// empty when it became its study (no process, no finish), or "skipped"/"failed" with the reason.
// finish.cache_key/components/reason, when the caller set them (a cacheable study that missed),
// are written on the driver row, so that the succeeded study is a cache hit for a later run.
std::optional<spec::Task> prepare_hpo(store::Tx& tx, const store::ClaimedTask& c,
                                      const spec::Task& t, spec::TemplateContext& ctx,
                                      store::FinishOp& finish);

// ctx.best[X] = the "best" output of every upstream hpo task X already in ctx.outputs.
void add_best_values(const spec::Pipeline& p, spec::TemplateContext& ctx);

// One study step for each study with a trial among `finished_task_runs` (the ids finish_tasks
// changed); with `all`, for every running study (the sweep: run cancellations, safety net).
void step_studies(store::Tx& tx, const std::vector<int64_t>& finished_task_runs, bool all = false);

// Median early stopping for a running trial whose metrics were just ingested. True when the
// trial was marked pruned: the caller then cancels its attempt (its task run ends 'cancelled',
// the trial stays 'pruned').
bool maybe_prune(store::Tx& tx, const spec::Task& t, int64_t task_run_id);

}  // namespace ctflow::engine
