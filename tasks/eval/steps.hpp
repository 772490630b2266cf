#pragma once
// The model-side subcommands of ctflow-task, in pipeline order:
//   evaluate        "model" + "dataset" (reference set) + "testset" -> kNN accuracy, per-class
//                   accuracy, confusion matrix; artifacts "index" (faiss), "index-labels" (the
//                   label of each indexed row, JSON) and "predictions" (per test sample, JSON).
//                   With --raw-pixels: the same kNN on raw pixels (L2), no model (the baseline).
//                   With --index hnsw: the "index" artifact is an HNSW graph (faster single
//                   queries, approximate); "accuracy" is then the HNSW index's and
//                   "accuracy_exact" the flat index's on the same test set.
//   validate-model  the gate: the candidate's accuracy against the deployed version's accuracy
//                   on the same test set; "not promoted" is a normal outcome (promoted: false).
//   analyse         per-class slices and the hardest misclassified test images as PNGs.
// register lives in registry/register.hpp.
#include <optional>
#include <string>

#include "tasks/core/context.hpp"
#include "tasks/data/dataset.hpp"
#include "tasks/eval/knn.hpp"
#include "tasks/model/model_files.hpp"

namespace ctflow::tasks {

struct EvaluateOptions {
  int k = 5;
  bool raw_pixels = false;
  std::string index = "flat";  // the index artifact: "flat" | "hnsw"
  HnswOptions hnsw;            // with index "hnsw"
};
Result<TaskOutputs> run_evaluate(const TaskContext& ctx, const EvaluateOptions& o);

struct ValidateModelOptions {
  std::string model = "mnist";  // registry model name (inputs "models" key)
  int k = 5;
  double min_delta = 0.0;     // promote when candidate >= deployed + min_delta
  double min_accuracy = 0.0;  // and candidate >= min_accuracy
};
Result<TaskOutputs> run_validate_model(const TaskContext& ctx, const ValidateModelOptions& o);

struct AnalyseOptions {
  int top = 8;    // hardest misclassified examples written as PNGs
  int scale = 4;  // PNG upscaling factor
};
Result<TaskOutputs> run_analyse(const TaskContext& ctx, const AnalyseOptions& o);

// kNN accuracy of a model version's files (tasks/model/knn_model.hpp loads them) on `test` (the
// gate's check of a deployed version). Errors name the file that could not be used.
Result<double> knn_accuracy(const ModelFiles& files, const Dataset& test, int k);

}  // namespace ctflow::tasks
