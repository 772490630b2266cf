#pragma once
// k-nearest-neighbour search over vectors and the kNN vote. The only header that stands between
// faiss and the rest of ctflow-task. Two kinds of index:
//   flat  exact search (faiss IndexFlatIP for L2-normalised embeddings, IndexFlatL2 for raw
//         pixels). 10k queries against 60k 64-d vectors take about a second with OpenBLAS, so
//         evaluation needs nothing faster; but a single query scans all 60k rows (about 2.2 ms),
//         and faiss scans batches under 20 queries without BLAS (about 2 ms a query).
//   hnsw  faiss IndexHNSWFlat, same metric, built from a flat index's vectors: about 0.1 ms a
//         query, approximate. `evaluate --index hnsw` measures its accuracy against the flat
//         index's on the same test set (docs/benchmarks.md: bench-serve).
// Not thread-safe; flat searches use `threads` OpenBLAS threads and restore 1 afterwards.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "scheduler/common/result.hpp"

namespace ctflow::tasks {

// HNSW graph parameters (faiss names): `m` links per node, `ef_construction` candidates while
// building, `ef_search` candidates while searching (more: slower, closer to exact).
struct HnswOptions {
  int m = 32;
  int ef_construction = 64;
  int ef_search = 64;
};

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

  // An HNSW index over this flat index's vectors, same metric. Error: this is not a flat index, or
  // an option is out of range (m 4..256, ef_* 1..4096).
  Result<std::unique_ptr<KnnIndex>> to_hnsw(const HnswOptions& o) const;
  // HNSW: candidates while searching (1..4096, clamped). Flat: no effect.
  void set_ef_search(int ef);

  Result<bool> write(const std::string& path) const;
  // For nq queries: ids[nq*k] (row numbers of the indexed vectors, -1 when fewer than k) and
  // scores[nq*k] (similarity or distance), best first.
  void search(const float* q, int64_t nq, int k, std::vector<int64_t>& ids,
              std::vector<float>& scores) const;
  int64_t size() const;
  int64_t dim() const;
  bool inner_product() const;
  bool is_hnsw() const;
  int ef_search() const;  // 0 for a flat index

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
