#pragma once
// Exact k-nearest-neighbour search over vectors (faiss IndexFlatIP for L2-normalised embeddings,
// IndexFlatL2 for raw pixels) and the kNN vote. The only header that stands between faiss and the
// rest of ctflow-task. Why flat: 10k queries against 60k 64-d vectors take about a second with
// OpenBLAS here, so an approximate index (IVF, HNSW) would trade accuracy for nothing at this
// size; ctflow-serve may choose differently for single queries.
// Not thread-safe; searches use `threads` OpenBLAS threads and restore 1 afterwards.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "scheduler/common/result.hpp"

namespace ctflow::tasks {

class KnnIndex {
 public:
  // `inner_product`: similarity = dot product (larger is closer); else squared L2 distance.
  static std::unique_ptr<KnnIndex> build(const float* x, int64_t n, int64_t dim,
                                         bool inner_product);
  // Reads an index written by write() (or by faiss::write_index). Errors name the file.
  static Result<std::unique_ptr<KnnIndex>> read(const std::string& path);
  ~KnnIndex();
  KnnIndex(const KnnIndex&) = delete;
  KnnIndex& operator=(const KnnIndex&) = delete;

  Result<bool> write(const std::string& path) const;
  // For nq queries: ids[nq*k] (row numbers of the indexed vectors, -1 when fewer than k) and
  // scores[nq*k] (similarity or distance), best first.
  void search(const float* q, int64_t nq, int k, std::vector<int64_t>& ids,
              std::vector<float>& scores) const;
  int64_t size() const;
  int64_t dim() const;
  bool inner_product() const;

 private:
  struct Impl;
  explicit KnnIndex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct Votes {
  std::vector<int> pred;          // predicted class per query
  std::vector<float> confidence;  // share of the k neighbours that voted for pred
};

// Majority vote of the neighbours' labels; a tie goes to the class with the best summed score.
Votes knn_vote(const std::vector<int64_t>& ids, const std::vector<float>& scores,
               const std::vector<uint8_t>& labels, int64_t nq, int k, bool inner_product,
               int num_classes = 10);

}  // namespace ctflow::tasks
