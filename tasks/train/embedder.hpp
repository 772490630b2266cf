#pragma once
// Embedder: runs a TorchScript embedding module (the "model" artifact of train, or one saved by
// PyTorch with torch.jit.script(...).save) on float pixels in [0,1]. Keeps libtorch out of every
// other translation unit. Not thread-safe: one thread calls embed() at a time.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "scheduler/common/result.hpp"

namespace ctflow::tasks {

class Embedder {
 public:
  // Loads the module; errors name the file (missing, not TorchScript, no forward method).
  // `optimize`: torch::jit::optimize_for_inference (frozen weights, folded batch norms); a
  // module that cannot be optimised is used as saved, with a warning.
  static Result<std::unique_ptr<Embedder>> load(const std::string& path, bool optimize = true);
  ~Embedder();
  Embedder(const Embedder&) = delete;
  Embedder& operator=(const Embedder&) = delete;

  // Embeds n images of rows*cols pixels (row-major, [0,1]); returns n*dim floats. Errors on a
  // module failure or a non-finite embedding.
  Result<std::vector<float>> embed(const float* pixels, int64_t n, int64_t rows, int64_t cols,
                                   int64_t batch = 256);
  // The embedding dimension, known after the first embed() call (0 before).
  int64_t dim() const { return dim_; }

 private:
  struct Impl;
  explicit Embedder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  int64_t dim_ = 0;
};

}  // namespace ctflow::tasks
