// bench-serve: the faster index and its accuracy. Reads a model directory with a flat index
// (model.pt, index.faiss, index-labels.json), builds an HNSW index over the same vectors
// (KnnIndex::to_hnsw, as `ctflow-task evaluate --index hnsw` does), writes a second model
// directory that serves it, and measures the kNN accuracy of both directories on the labelled
// test images through the predictor's own loader (tasks/model/KnnModel). Exit 1 when the HNSW
// accuracy is more than MAX_LOSS_POINTS (default 0.1) percentage points below the flat one.
//   serve_reindex SRC_DIR DST_DIR TEST_IMAGES TEST_LABELS [M] [EF_SEARCH] [MAX_LOSS_POINTS]
// Prints one RESULT line.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "tasks/core/runtime.hpp"
#include "tasks/data/dataset.hpp"
#include "tasks/data/idx.hpp"
#include "tasks/eval/knn.hpp"
#include "tasks/model/knn_model.hpp"

using namespace ctflow;
namespace fs = std::filesystem;

namespace {

int fail(const std::string& why) {
  std::fprintf(stderr, "serve_reindex: %s\n", why.c_str());
  return 1;
}

// Test accuracy of the model directory `dir` on `px` (n images in [0,1]) against `labels`.
Result<double> accuracy(const std::string& dir, const std::vector<float>& px,
                        const std::vector<uint8_t>& labels) {
  auto files = tasks::files_in_dir(dir);
  if (!files) return Error{files.error()};
  auto model = tasks::KnnModel::load(*files);
  if (!model) return Error{model.error()};
  auto v = (*model)->predict(px.data(), static_cast<int64_t>(labels.size()));
  if (!v) return Error{v.error()};
  int64_t correct = 0;
  for (size_t i = 0; i < labels.size(); ++i) correct += v->pred[i] == labels[i];
  return static_cast<double>(correct) / static_cast<double>(labels.size());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr,
                 "usage: serve_reindex SRC_DIR DST_DIR TEST_IMAGES TEST_LABELS [M] [EF_SEARCH] "
                 "[MAX_LOSS_POINTS]\n");
    return 2;
  }
  const std::string src = argv[1], dst = argv[2];
  tasks::HnswOptions o;
  if (argc > 5) o.m = std::atoi(argv[5]);
  if (argc > 6) o.ef_search = std::atoi(argv[6]);
  const double max_loss = argc > 7 ? std::atof(argv[7]) : 0.1;
  tasks::configure_threads(0);

  auto files = tasks::files_in_dir(src);
  if (!files) return fail(files.error());
  auto flat = tasks::KnnIndex::read(files->index);
  if (!flat) return fail(flat.error());
  const auto t0 = std::chrono::steady_clock::now();
  auto hnsw = (*flat)->to_hnsw(o);
  if (!hnsw) return fail(files->index + ": " + hnsw.error());
  const double build_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto meta = tasks::read_json_object(files->index_labels);
  if (!meta) return fail(meta.error());
  (*meta)["index"] = "hnsw";
  (*meta)["hnsw_m"] = o.m;
  (*meta)["ef_search"] = o.ef_search;
  std::error_code ec;
  fs::create_directories(dst, ec);
  fs::copy_file(files->model, fs::path(dst) / "model.pt", fs::copy_options::overwrite_existing, ec);
  if (ec) return fail("cannot copy " + files->model + " to " + dst + ": " + ec.message());
  if (auto w = (*hnsw)->write((fs::path(dst) / "index.faiss").string()); !w) return fail(w.error());
  if (auto w = tasks::write_json((fs::path(dst) / "index-labels.json").string(), *meta); !w)
    return fail(w.error());

  auto images = tasks::read_idx_images(argv[3]);
  if (!images) return fail(images.error());
  auto labels = tasks::read_idx_labels(argv[4]);
  if (!labels) return fail(labels.error());
  if (static_cast<int64_t>(labels->size()) != images->count)
    return fail(std::string(argv[4]) + " holds " + std::to_string(labels->size()) + " labels for " +
                std::to_string(images->count) + " images");
  std::vector<float> px(images->pixels.size());
  for (size_t i = 0; i < px.size(); ++i) px[i] = images->pixels[i] / 255.0f;
  auto acc_flat = accuracy(src, px, *labels);
  if (!acc_flat) return fail(acc_flat.error());
  auto acc_hnsw = accuracy(dst, px, *labels);
  if (!acc_hnsw) return fail(acc_hnsw.error());
  const double loss_points = (*acc_flat - *acc_hnsw) * 100.0;
  std::printf(
      "RESULT index=hnsw m=%d ef_search=%d build_s=%.1f test_images=%ld flat_accuracy=%.4f "
      "hnsw_accuracy=%.4f loss_points=%.2f\n",
      o.m, o.ef_search, build_s, static_cast<long>(labels->size()), *acc_flat, *acc_hnsw,
      loss_points);
  if (loss_points > max_loss)
    return fail("hnsw accuracy is " + std::to_string(loss_points) + " points below flat (max " +
                std::to_string(max_loss) + ")");
  return 0;
}
