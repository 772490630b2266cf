#pragma once
// KnnModel: a loaded model version, ready to classify: the TorchScript embedder, the faiss index
// of the reference embeddings and their labels. The one loader behind the promotion gate
// (validate-model re-scores the deployed version), the evaluation's accuracy check and the
// predictor (ctflow-serve). Loading checks that the three files agree (as many labels as index
// rows; the model's embedding dimension equals the index's, found by embedding one blank image,
// which also warms the module up), so a version that loads can serve.
//
// Not thread-safe: one thread calls predict() at a time (the predictor's batcher).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "scheduler/common/result.hpp"
#include "tasks/eval/knn.hpp"
#include "tasks/model/model_files.hpp"

namespace ctflow::tasks {

class Embedder;

class KnnModel {
 public:
  // `k` <= 0: the k recorded in index-labels.json. Errors name the file that cannot be used.
  static Result<std::unique_ptr<KnnModel>> load(const ModelFiles& files, int k = 0,
                                                int64_t rows = 28, int64_t cols = 28);
  ~KnnModel();
  KnnModel(const KnnModel&) = delete;
  KnnModel& operator=(const KnnModel&) = delete;

  // Where predict()'s time went, in seconds.
  struct Timing {
    double embed = 0;   // the forward pass
    double search = 0;  // the index search and the vote
  };

  // n images of rows*cols pixels in [0,1], row-major -> predicted class and the share of the k
  // neighbours that voted for it. One forward pass and one index search for all n. `timing`,
  // when given, receives the split of the time.
  Result<Votes> predict(const float* pixels, int64_t n, Timing* timing = nullptr);
  bool hnsw() const;

  int k() const { return k_; }
  int64_t dim() const;
  int64_t index_size() const;

 private:
  KnnModel() = default;
  std::unique_ptr<Embedder> embedder_;
  std::unique_ptr<KnnIndex> index_;
  IndexLabels labels_;
  int k_ = 5;
  int64_t rows_ = 28, cols_ = 28;
  std::string model_path_;
};

}  // namespace ctflow::tasks
