// ctflow-task: the CT task runner. One subcommand per task; each follows the task contract of
// ../shared/DESIGN.md: it reads $CTFLOW_INPUTS, writes its artifacts into the working directory,
// appends metrics to $CTFLOW_METRICS and writes $CTFLOW_OUTPUTS (stdout when unset). On failure
// it prints one line "ctflow-task NAME: reason" on stderr and exits 1 (2 for bad flags).
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>

#include "scheduler/common/log.hpp"
#include "tasks/core/runtime.hpp"
#include "tasks/data/steps.hpp"
#include "tasks/eval/steps.hpp"
#include "tasks/registry/register.hpp"
#include "tasks/train/train.hpp"

using namespace ctflow;
using namespace ctflow::tasks;

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

int fail(const std::string& cmd, const std::string& reason) {
  std::cerr << "ctflow-task " << cmd << ": " << one_line(reason) << std::endl;
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ctflow-task: continuous-training tasks (extract ... register)"};
  app.require_subcommand(1);
  app.fallthrough();  // --threads and --input may follow the subcommand
  int threads = 0;
  std::vector<std::string> input_flags;
  app.add_option("--threads", threads,
                 "torch/OpenMP threads (default $CTFLOW_THREADS or all CPUs)");
  app.add_option("--input", input_flags, "NAME=PATH: use PATH for upstream artifact NAME")
      ->allow_extra_args(false);

  using Runner = std::function<Result<TaskOutputs>(const TaskContext&)>;
  Runner runner;
  std::string command;
  auto sub = [&](const char* name, const char* help, auto& opts, auto fn) {
    CLI::App* s = app.add_subcommand(name, help);
    s->callback([&command, &runner, name, &opts, fn] {
      command = name;
      runner = [&opts, fn](const TaskContext& c) { return fn(c, opts); };
    });
    return s;
  };

  ExtractOptions ex;
  auto* s_ex = sub("extract", "partitions of a source -> raw datasets", ex, run_extract);
  s_ex->add_option("--source", ex.source, "mnist://DIR or synthetic://digits?n=..&seed=..")
      ->required();
  s_ex->add_option("--until", ex.until, "take partitions that start at or before this instant");

  ValidateDataOptions vd;
  double max_psi = -1;
  auto* s_vd = sub("validate-data", "schema, ranges, duplicates, drift", vd, run_validate_data);
  s_vd->add_option("--min-class-fraction", vd.min_class_fraction);
  s_vd->add_option("--max-duplicate-fraction", vd.max_duplicate_fraction);
  s_vd->add_option("--min-mean", vd.min_mean);
  s_vd->add_option("--max-mean", vd.max_mean);
  s_vd->add_option("--max-psi", max_psi, "fail when drift between partitions exceeds this PSI");

  TransformOptions tf;
  sub("transform", "float pixels and normalisation statistics", tf, run_transform);

  SplitOptions sp;
  auto* s_sp = sub("split", "stratified, seeded train/validation split", sp, run_split);
  s_sp->add_option("--val-fraction", sp.val_fraction);
  s_sp->add_option("--seed", sp.seed);

  TrainOptions tr;
  auto* s_tr = sub("train", "train the embedding CNN (libtorch)", tr, run_train);
  s_tr->add_option("--lr", tr.lr, "peak learning rate");
  s_tr->add_option("--dim", tr.dim, "embedding dimension");
  s_tr->add_option("--epochs", tr.epochs);
  s_tr->add_option("--batch-size", tr.batch_size);
  s_tr->add_option("--seed", tr.seed);
  s_tr->add_option("--log-every", tr.log_every, "loss metric every N steps");
  s_tr->add_option("--shift", tr.shift, "random shift augmentation in pixels");

  EvaluateOptions ev;
  auto* s_ev = sub("evaluate", "faiss kNN accuracy on the test set", ev, run_evaluate);
  s_ev->add_option("--k", ev.k);
  s_ev->add_flag("--raw-pixels", ev.raw_pixels, "baseline: kNN on raw pixels, no model");
  s_ev->add_option("--index", ev.index, "index artifact: flat (exact, default) or hnsw")
      ->check(CLI::IsMember({"flat", "hnsw"}));
  s_ev->add_option("--hnsw-m", ev.hnsw.m, "hnsw: links per node (default 32)")
      ->check(CLI::Range(4, 256));
  s_ev->add_option("--hnsw-ef-search", ev.hnsw.ef_search, "hnsw: search candidates (default 64)")
      ->check(CLI::Range(1, 4096));

  ValidateModelOptions vm;
  auto* s_vm =
      sub("validate-model", "promotion gate against the deployed version", vm, run_validate_model);
  s_vm->add_option("--model", vm.model);
  s_vm->add_option("--k", vm.k);
  s_vm->add_option("--min-delta", vm.min_delta);
  s_vm->add_option("--min-accuracy", vm.min_accuracy);

  AnalyseOptions an;
  auto* s_an = sub("analyse", "per-class slices and hardest examples", an, run_analyse);
  s_an->add_option("--top", an.top);
  s_an->add_option("--scale", an.scale);

  RegisterOptions rg;
  auto* s_rg = sub("register", "register (and deploy) a model version", rg, run_register);
  s_rg->add_option("--model", rg.model);
  s_rg->add_option("--artifacts", rg.artifacts, "artifact names (NAME or TASK/NAME)")
      ->delimiter(',');
  s_rg->add_option("--deploy", rg.deploy_alias, "also deploy under this alias");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (max_psi >= 0) vd.max_psi = max_psi;

  try {
    configure_threads(threads);
    TaskContext ctx;
    MetricsWriter metrics(env("CTFLOW_METRICS"));
    ctx.metrics = &metrics;
    for (const auto& f : input_flags) {
      auto eq = f.find('=');
      if (eq == std::string::npos || eq == 0)
        return fail(command, "--input " + f + " is not NAME=PATH");
      ctx.overrides[f.substr(0, eq)] = f.substr(eq + 1);
    }
    if (std::string in = env("CTFLOW_INPUTS"); !in.empty()) {
      auto inputs = load_inputs(in);
      if (!inputs) return fail(command, inputs.error());
      ctx.inputs = std::move(*inputs);
    }
    log::info("{} (run {}, task {}, attempt {})", command, env("CTFLOW_RUN_ID"), env("CTFLOW_TASK"),
              env("CTFLOW_ATTEMPT"));
    Result<TaskOutputs> result = runner(ctx);
    if (!result) return fail(command, result.error());
    if (std::string path = env("CTFLOW_OUTPUTS"); !path.empty()) {
      if (auto w = write_outputs(path, *result); !w) return fail(command, w.error());
    } else {
      std::cout << json::serialize(result->to_json()) << std::endl;
    }
    return 0;
  } catch (const std::exception& e) {
    // Library exceptions (bad_alloc, a libtorch or faiss error outside the guarded calls) still
    // end as a one-line reason and a non-zero exit rather than an abort.
    return fail(command, std::string("unexpected error: ") + e.what());
  }
}
