#pragma once
// train: "dataset" + "split" -> artifact "model", a TorchScript module (a single file that
// torch::jit::load reads in another process, no Python needed):
//   forward(x: float pixels in [0,1], any shape reshapable to [N,1,rows,cols]) -> [N,dim]
//   L2-normalised embeddings. The module applies the training data's normalisation itself and
//   carries the attributes rows, cols, embedding_dim, mean, std.
// Architecture (BUILD-NOTES recipe): conv3x3(32)-relu-maxpool, conv3x3(64)-relu-maxpool,
// linear 3136->128-relu, linear 128->dim, L2 normalisation. Adam with a one-cycle schedule and
// random shifts of up to 2 px. Deterministic for a given seed and thread count.
// Metrics: "loss" every --log-every steps (step = global step), "loss_epoch" and
// "val_accuracy" after each epoch (step = epoch number, 1-based).
// A non-finite loss stops training with an error naming the epoch and step.
#include <cstdint>

#include "tasks/core/context.hpp"

namespace ctflow::tasks {

struct TrainOptions {
  double lr = 3e-3;  // peak learning rate of the one-cycle schedule
  int dim = 64;
  int epochs = 3;
  int batch_size = 256;
  uint64_t seed = 1;
  int log_every = 50;
  int shift = 2;  // random translation in pixels (0 = no augmentation)
};

Result<TaskOutputs> run_train(const TaskContext& ctx, const TrainOptions& o);

}  // namespace ctflow::tasks
