// The only translation unit that includes faiss headers.
#include "tasks/eval/knn.hpp"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/index_io.h>

#include <algorithm>

#include "tasks/core/runtime.hpp"

namespace ctflow::tasks {

struct KnnIndex::Impl {
  std::unique_ptr<faiss::Index> index;
};

KnnIndex::KnnIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KnnIndex::~KnnIndex() = default;

std::unique_ptr<KnnIndex> KnnIndex::build(const float* x, int64_t n, int64_t dim,
                                          bool inner_product) {
  auto impl = std::make_unique<Impl>();
  if (inner_product)
    impl->index = std::make_unique<faiss::IndexFlatIP>(dim);
  else
    impl->index = std::make_unique<faiss::IndexFlatL2>(dim);
  impl->index->add(n, x);
  return std::unique_ptr<KnnIndex>(new KnnIndex(std::move(impl)));
}

Result<std::unique_ptr<KnnIndex>> KnnIndex::read(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  try {
    impl->index.reset(faiss::read_index(path.c_str()));
  } catch (const std::exception& e) {
    std::string msg = e.what();
    return Error{"index " + path + " cannot be read: " + msg.substr(0, msg.find('\n'))};
  }
  return std::unique_ptr<KnnIndex>(new KnnIndex(std::move(impl)));
}

Result<std::unique_ptr<KnnIndex>> KnnIndex::to_hnsw(const HnswOptions& o) const {
  const auto* flat = dynamic_cast<const faiss::IndexFlat*>(impl_->index.get());
  if (!flat) return Error{"an HNSW index is built from a flat index"};
  if (o.m < 4 || o.m > 256) return Error{"hnsw m " + std::to_string(o.m) + " outside 4..256"};
  if (o.ef_construction < 1 || o.ef_construction > 4096 || o.ef_search < 1 || o.ef_search > 4096)
    return Error{"hnsw ef_construction and ef_search must be in 1..4096"};
  auto hnsw =
      std::make_unique<faiss::IndexHNSWFlat>(static_cast<int>(flat->d), o.m, flat->metric_type);
  hnsw->hnsw.efConstruction = o.ef_construction;
  hnsw->hnsw.efSearch = o.ef_search;
  // add() builds the graph with OpenMP over the configured threads.
  hnsw->add(flat->ntotal, flat->get_xb());
  auto impl = std::make_unique<Impl>();
  impl->index = std::move(hnsw);
  return std::unique_ptr<KnnIndex>(new KnnIndex(std::move(impl)));
}

void KnnIndex::set_ef_search(int ef) {
  if (auto* h = dynamic_cast<faiss::IndexHNSW*>(impl_->index.get()))
    h->hnsw.efSearch = std::clamp(ef, 1, 4096);
}

bool KnnIndex::is_hnsw() const {
  return dynamic_cast<const faiss::IndexHNSW*>(impl_->index.get()) != nullptr;
}

int KnnIndex::ef_search() const {
  const auto* h = dynamic_cast<const faiss::IndexHNSW*>(impl_->index.get());
  return h ? h->hnsw.efSearch : 0;
}

Result<bool> KnnIndex::write(const std::string& path) const {
  try {
    faiss::write_index(impl_->index.get(), path.c_str());
  } catch (const std::exception& e) {
    std::string msg = e.what();
    return Error{"index " + path + " cannot be written: " + msg.substr(0, msg.find('\n'))};
  }
  return true;
}

void KnnIndex::search(const float* q, int64_t nq, int k, std::vector<int64_t>& ids,
                      std::vector<float>& scores) const {
  ids.assign(nq * k, -1);
  scores.assign(nq * k, 0.0f);
  static_assert(sizeof(faiss::Index::idx_t) == sizeof(int64_t));
  auto* out_ids = reinterpret_cast<faiss::Index::idx_t*>(ids.data());
  if (is_hnsw()) {  // no BLAS: the graph walk parallelises over queries with OpenMP
    impl_->index->search(nq, q, k, scores.data(), out_ids);
    return;
  }
  // faiss calls sgemm from one thread for batches of queries: give OpenBLAS the cores meanwhile.
  set_blas_threads(configured_threads());
  impl_->index->search(nq, q, k, scores.data(), out_ids);
  set_blas_threads(1);
}

int64_t KnnIndex::size() const {
  return impl_->index->ntotal;
}
int64_t KnnIndex::dim() const {
  return impl_->index->d;
}
bool KnnIndex::inner_product() const {
  return impl_->index->metric_type == faiss::METRIC_INNER_PRODUCT;
}

Votes knn_vote(const std::vector<int64_t>& ids, const std::vector<float>& scores,
               const std::vector<uint8_t>& labels, int64_t nq, int k, bool inner_product,
               int num_classes) {
  Votes v;
  v.pred.resize(nq);
  v.confidence.resize(nq);
  std::vector<int> count(num_classes);
  std::vector<double> score(num_classes);
  for (int64_t q = 0; q < nq; ++q) {
    std::fill(count.begin(), count.end(), 0);
    std::fill(score.begin(), score.end(), 0.0);
    int voters = 0;
    for (int j = 0; j < k; ++j) {
      int64_t id = ids[q * k + j];
      if (id < 0 || id >= static_cast<int64_t>(labels.size())) continue;
      int c = labels[id];
      if (c >= num_classes) continue;
      ++voters;
      count[c]++;
      score[c] += inner_product ? scores[q * k + j] : -scores[q * k + j];
    }
    int best = 0;
    for (int c = 1; c < num_classes; ++c)
      if (count[c] > count[best] || (count[c] == count[best] && score[c] > score[best])) best = c;
    v.pred[q] = best;
    v.confidence[q] = voters ? static_cast<float>(count[best]) / static_cast<float>(voters) : 0.0f;
  }
  return v;
}

}  // namespace ctflow::tasks
