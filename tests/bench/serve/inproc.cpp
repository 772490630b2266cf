// bench-serve (a): the in-process speed of the computation ctflow-serve runs (tasks/model/
// KnnModel: one TorchScript forward pass and one faiss search per call), without HTTP:
// one image per call, then 32 images per call, each for SECONDS. Prints one RESULT line per mode.
//   serve_inproc MODEL_DIR IMAGES_IDX [SECONDS] [THREADS]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "tasks/core/runtime.hpp"
#include "tasks/data/idx.hpp"
#include "tasks/model/knn_model.hpp"

using namespace ctflow;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: serve_inproc MODEL_DIR IMAGES_IDX [SECONDS] [THREADS]\n");
    return 2;
  }
  const double seconds = argc > 3 ? std::atof(argv[3]) : 5.0;
  tasks::configure_threads(argc > 4 ? std::atoi(argv[4]) : 0);
  auto files = tasks::files_in_dir(argv[1]);
  auto images = tasks::read_idx_images(argv[2]);
  if (!files || !images) {
    std::fprintf(stderr, "serve_inproc: %s\n", (!files ? files.error() : images.error()).c_str());
    return 1;
  }
  auto model = tasks::KnnModel::load(*files);
  if (!model) {
    std::fprintf(stderr, "serve_inproc: %s\n", model.error().c_str());
    return 1;
  }
  const int64_t n = std::min<int64_t>(images->count, 1024);
  std::vector<float> px(n * 784);
  for (int64_t i = 0; i < n * 784; ++i) px[i] = images->pixels[i] / 255.0f;
  for (int64_t batch : {1, 32}) {
    std::vector<double> lat;
    const auto start = Clock::now();
    int64_t done = 0, at = 0;
    while (std::chrono::duration<double>(Clock::now() - start).count() < seconds) {
      if (at + batch > n) at = 0;
      const auto t0 = Clock::now();
      auto v = (*model)->predict(px.data() + at * 784, batch);
      if (!v) {
        std::fprintf(stderr, "serve_inproc: %s\n", v.error().c_str());
        return 1;
      }
      lat.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      done += batch;
      at += batch;
    }
    const double wall = std::chrono::duration<double>(Clock::now() - start).count();
    std::sort(lat.begin(), lat.end());
    std::printf("RESULT batch=%ld predictions_per_s=%.1f p50_ms=%.2f p99_ms=%.2f\n",
                static_cast<long>(batch), done / wall, lat[lat.size() / 2],
                lat[std::min(lat.size() - 1, lat.size() * 99 / 100)]);
  }
  return 0;
}
