#pragma once
// The data subcommands of ctflow-task, in the order data flows through them:
//   extract        source partitions -> artifacts "raw" (training partitions) and "raw-test"
//   validate-data  "raw", "raw-test" -> artifact "data-report"; fails when a rule breaks
//   transform      "raw", "raw-test" -> "dataset", "testset" (float pixels in [0,1]) plus the
//                  normalisation statistics that the model applies as its first layer
//   split          "dataset" -> "split" (stratified, seeded train/validation sample indices)
// Each returns the task's outputs or an error whose message is the one-line failure reason.
#include <optional>
#include <string>

#include "tasks/core/context.hpp"
#include "tasks/data/dataset.hpp"

namespace ctflow::tasks {

struct ExtractOptions {
  std::string source;  // see source.hpp
  std::string until;   // ISO-8601 instant (the run's logical date); "" = all partitions
};
Result<TaskOutputs> run_extract(const TaskContext& ctx, const ExtractOptions& o);

struct ValidateDataOptions {
  int num_classes = 10;
  int64_t rows = 28, cols = 28;
  double min_class_fraction = 0.5;  // each class >= this * 1/num_classes of the samples
  double max_duplicate_fraction = 0.01;
  double min_mean = 0.02, max_mean = 0.6;  // mean pixel intensity in [0,1]
  double max_blank_fraction = 0.01;        // images with no pixel above 10% intensity
  std::optional<double> max_psi;           // drift between consecutive partitions; unset: warn
};
Result<TaskOutputs> run_validate_data(const TaskContext& ctx, const ValidateDataOptions& o);

struct TransformOptions {};
Result<TaskOutputs> run_transform(const TaskContext& ctx, const TransformOptions& o);

struct SplitOptions {
  double val_fraction = 0.1;
  uint64_t seed = 1;
};
Result<TaskOutputs> run_split(const TaskContext& ctx, const SplitOptions& o);

// Population stability index of two histograms (counts), with a small floor for empty bins.
double psi(const std::vector<double>& expected, const std::vector<double>& actual);

}  // namespace ctflow::tasks
