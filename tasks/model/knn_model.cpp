#include "tasks/model/knn_model.hpp"

#include <chrono>

#include "tasks/train/embedder.hpp"

namespace ctflow::tasks {

KnnModel::~KnnModel() = default;

Result<std::unique_ptr<KnnModel>> KnnModel::load(const ModelFiles& files, int k, int64_t rows,
                                                 int64_t cols) {
  std::unique_ptr<KnnModel> m(new KnnModel());
  auto emb = Embedder::load(files.model);
  if (!emb) return Error{emb.error()};
  m->embedder_ = std::move(*emb);
  auto idx = KnnIndex::read(files.index);
  if (!idx) return Error{idx.error()};
  m->index_ = std::move(*idx);
  auto labels = read_index_labels(files.index_labels);
  if (!labels) return Error{labels.error()};
  m->labels_ = std::move(*labels);
  if (static_cast<int64_t>(m->labels_.labels.size()) != m->index_->size())
    return Error{"index " + files.index + " has " + std::to_string(m->index_->size()) +
                 " rows but " + files.index_labels + " has " +
                 std::to_string(m->labels_.labels.size()) + " labels"};
  if (m->index_->size() == 0) return Error{"index " + files.index + " is empty"};
  if (m->labels_.hnsw != m->index_->is_hnsw())
    return Error{"index " + files.index + " is " + (m->index_->is_hnsw() ? "hnsw" : "flat") +
                 " but " + files.index_labels + " says " + (m->labels_.hnsw ? "hnsw" : "flat")};
  if (m->labels_.ef_search > 0) m->index_->set_ef_search(m->labels_.ef_search);
  m->k_ = k > 0 ? k : m->labels_.k;
  m->rows_ = rows;
  m->cols_ = cols;
  m->model_path_ = files.model;
  // One blank image: the embedding dimension, and the first (slow) forward pass done now.
  std::vector<float> blank(rows * cols, 0.0f);
  auto e = m->embedder_->embed(blank.data(), 1, rows, cols);
  if (!e) return Error{"model " + files.model + ": " + e.error()};
  if (m->embedder_->dim() != m->index_->dim())
    return Error{"model " + files.model + " embeds in " + std::to_string(m->embedder_->dim()) +
                 " dimensions, index " + files.index + " holds " +
                 std::to_string(m->index_->dim())};
  return m;
}

int64_t KnnModel::dim() const {
  return index_->dim();
}
int64_t KnnModel::index_size() const {
  return index_->size();
}

bool KnnModel::hnsw() const {
  return index_->is_hnsw();
}

Result<Votes> KnnModel::predict(const float* pixels, int64_t n, Timing* timing) {
  if (n <= 0) return Votes{};
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  auto q = embedder_->embed(pixels, n, rows_, cols_);
  if (!q) return Error{"model " + model_path_ + ": " + q.error()};
  const auto t1 = Clock::now();
  std::vector<int64_t> ids;
  std::vector<float> scores;
  index_->search(q->data(), n, k_, ids, scores);
  Votes v = knn_vote(ids, scores, labels_.labels, n, k_, index_->inner_product());
  if (timing) {
    timing->embed = std::chrono::duration<double>(t1 - t0).count();
    timing->search = std::chrono::duration<double>(Clock::now() - t1).count();
  }
  return v;
}

}  // namespace ctflow::tasks
