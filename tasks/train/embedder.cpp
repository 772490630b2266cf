#include "tasks/train/embedder.hpp"

#include <torch/script.h>

#include <cmath>

#include "scheduler/common/log.hpp"

namespace ctflow::tasks {

struct Embedder::Impl {
  torch::jit::Module module;
};

Embedder::Embedder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Embedder::~Embedder() = default;

Result<std::unique_ptr<Embedder>> Embedder::load(const std::string& path, bool optimize) {
  auto impl = std::make_unique<Impl>();
  try {
    impl->module = torch::jit::load(path);
  } catch (const std::exception& e) {
    std::string msg = e.what();
    return Error{"model " + path +
                 " is not a TorchScript module: " + msg.substr(0, msg.find('\n'))};
  }
  if (!impl->module.find_method("forward"))
    return Error{"model " + path + " has no forward method"};
  impl->module.eval();
  if (optimize) {
    // torch.jit.optimize_for_inference: freeze the weights into the graph, fold batch norms
    // into convolutions, prepack weights. Same numbers (to float rounding), several times faster
    // forward passes on this CPU (docs/benchmarks.md, bench-serve). A module that cannot be
    // frozen runs as it was saved.
    try {
      impl->module = torch::jit::optimize_for_inference(impl->module);
    } catch (const std::exception& e) {
      std::string msg = e.what();
      log::warn("model {}: runs unoptimised: {}", path, msg.substr(0, msg.find('\n')));
    }
  }
  return std::unique_ptr<Embedder>(new Embedder(std::move(impl)));
}

Result<std::vector<float>> Embedder::embed(const float* pixels, int64_t n, int64_t rows,
                                           int64_t cols, int64_t batch) {
  std::vector<float> out;
  torch::NoGradGuard no_grad;
  try {
    for (int64_t b = 0; b < n; b += batch) {
      int64_t m = std::min(batch, n - b);
      auto x = torch::from_blob(const_cast<float*>(pixels + b * rows * cols), {m, 1, rows, cols},
                                torch::kFloat32);
      torch::Tensor e = impl_->module.forward({x}).toTensor().contiguous().to(torch::kFloat32);
      if (e.dim() != 2 || e.size(0) != m)
        return Error{"model output has shape " + std::to_string(e.dim()) +
                     "-d, expected [batch, dim]"};
      dim_ = e.size(1);
      if (!torch::isfinite(e).all().item<bool>())
        return Error{"model produced a non-finite embedding"};
      out.insert(out.end(), e.data_ptr<float>(), e.data_ptr<float>() + e.numel());
    }
  } catch (const std::exception& e) {
    std::string msg = e.what();
    return Error{"model forward failed: " + msg.substr(0, msg.find('\n'))};
  }
  return out;
}

}  // namespace ctflow::tasks
