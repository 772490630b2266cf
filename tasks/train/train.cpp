// The only translation unit that includes <torch/torch.h> (optimizers, autograd): ~17 s to
// compile, so everything that does not need it lives elsewhere.
#include "tasks/train/train.hpp"

#include <torch/script.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <random>

#include "scheduler/common/log.hpp"
#include "tasks/data/dataset.hpp"

namespace ctflow::tasks {

namespace {

constexpr int kClasses = 10;
// Cosine-softmax scale. Why a normalised classification head rather than a metric-learning loss
// (triplet, contrastive): the logits are scaled cosines between the L2-normalised embedding and
// one learned direction per class (NormFace), so training directly pulls each class together on
// the unit sphere, which is exactly what an inner-product kNN over the embeddings needs; it needs
// no pair or triplet mining, converges as fast as plain softmax, and is deterministic per batch.
constexpr double kScale = 16.0;

const char* kForward = R"JIT(
def forward(self, x):
    x = x.reshape([-1, 1, self.rows, self.cols])
    x = (x - self.mean) / self.std
    x = torch.max_pool2d(torch.relu(torch.conv2d(x, self.conv1_w, self.conv1_b, [1, 1], [1, 1])), [2, 2], [2, 2])
    x = torch.max_pool2d(torch.relu(torch.conv2d(x, self.conv2_w, self.conv2_b, [1, 1], [1, 1])), [2, 2], [2, 2])
    x = torch.flatten(x, 1)
    x = torch.relu(torch.linear(x, self.fc1_w, self.fc1_b))
    x = torch.linear(x, self.fc2_w, self.fc2_b)
    return x / torch.sqrt(torch.sum(x * x, [1], True) + 1e-12)
)JIT";

// PyTorch's default initialisation for conv and linear layers: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
void add_layer(torch::jit::Module& m, const std::string& name, std::vector<int64_t> shape) {
  int64_t fan_in = 1;
  for (size_t i = 1; i < shape.size(); ++i) fan_in *= shape[i];
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  torch::Tensor w = torch::empty(shape).uniform_(-bound, bound);
  // channels_last convolution weights keep oneDNN in NHWC, without reorders around each conv.
  if (shape.size() == 4) w = w.contiguous(at::MemoryFormat::ChannelsLast);
  m.register_parameter(name + "_w", w.requires_grad_(), false);
  m.register_parameter(name + "_b",
                       torch::empty({shape[0]}).uniform_(-bound, bound).requires_grad_(), false);
}

torch::jit::Module build_module(int64_t rows, int64_t cols, int dim, double mean, double stddev) {
  torch::jit::Module m("CtflowEmbedding");
  m.register_attribute("rows", c10::IntType::get(), rows);
  m.register_attribute("cols", c10::IntType::get(), cols);
  m.register_attribute("embedding_dim", c10::IntType::get(), static_cast<int64_t>(dim));
  m.register_attribute("mean", c10::FloatType::get(), mean);
  m.register_attribute("std", c10::FloatType::get(), stddev);
  add_layer(m, "conv1", {32, 1, 3, 3});
  add_layer(m, "conv2", {64, 32, 3, 3});
  add_layer(m, "fc1", {128, 64 * (rows / 4) * (cols / 4)});
  add_layer(m, "fc2", {dim, 128});
  m.define(kForward);
  return m;
}

// One-cycle learning rate (PyTorch OneCycleLR defaults): cosine warm-up from lr/25 over the first
// 30% of the steps, then cosine annealing to lr/(25*1e4).
double one_cycle(double lr, int64_t step, int64_t total) {
  const double warm = 0.3 * static_cast<double>(total), lo = lr / 25.0, end = lo / 1e4;
  auto cosine = [](double a, double b, double t) {
    return b + (a - b) * 0.5 * (1 + std::cos(M_PI * t));
  };
  if (step < warm) return cosine(lo, lr, static_cast<double>(step) / warm);
  return cosine(lr, end, (static_cast<double>(step) - warm) / std::max(1.0, total - warm));
}

// Copies samples into a [B,1,rows,cols] batch, each shifted by up to `shift` pixels (zero fill).
void fill_batch(const Dataset& d, const std::vector<int64_t>& idx, size_t from, size_t count,
                int shift, std::mt19937_64& rng, torch::Tensor& x, torch::Tensor& y) {
  const int64_t R = d.rows, C = d.cols;
  x = torch::zeros({static_cast<int64_t>(count), 1, R, C});
  y = torch::empty({static_cast<int64_t>(count)}, torch::kLong);
  float* xp = x.data_ptr<float>();
  int64_t* yp = y.data_ptr<int64_t>();
  std::uniform_int_distribution<int> off(-shift, shift);
  for (size_t b = 0; b < count; ++b) {
    const int64_t s = idx[from + b];
    const int dy = shift ? off(rng) : 0, dx = shift ? off(rng) : 0;
    const float* src = d.pixels_f32.data() + s * R * C;
    float* dst = xp + b * R * C;
    for (int64_t r = 0; r < R; ++r) {
      const int64_t sr = r - dy;
      if (sr < 0 || sr >= R) continue;
      for (int64_t c = 0; c < C; ++c) {
        const int64_t sc = c - dx;
        if (sc >= 0 && sc < C) dst[r * C + c] = src[sr * C + sc];
      }
    }
    yp[b] = d.labels[s];
  }
}

torch::Tensor logits(torch::jit::Module& m, const torch::Tensor& head, const torch::Tensor& x) {
  torch::Tensor e = m.forward({x}).toTensor();
  return kScale * torch::matmul(e, torch::nn::functional::normalize(
                                       head, torch::nn::functional::NormalizeFuncOptions().dim(1))
                                       .t());
}

double accuracy(torch::jit::Module& m, const torch::Tensor& head, const Dataset& d,
                const std::vector<int64_t>& idx) {
  torch::NoGradGuard ng;
  std::mt19937_64 unused(0);
  int64_t correct = 0;
  for (size_t b = 0; b < idx.size(); b += 1000) {
    torch::Tensor x, y;
    fill_batch(d, idx, b, std::min<size_t>(1000, idx.size() - b), 0, unused, x, y);
    correct += logits(m, head, x).argmax(1).eq(y).sum().item<int64_t>();
  }
  return idx.empty() ? 0.0 : static_cast<double>(correct) / static_cast<double>(idx.size());
}

std::vector<int64_t> indices(const json::object& split, const char* key, int64_t n) {
  std::vector<int64_t> out;
  if (const json::value* v = find(split, key); v && v->is_array())
    for (const auto& e : v->get_array())
      if (e.is_int64() && e.get_int64() >= 0 && e.get_int64() < n) out.push_back(e.get_int64());
  return out;
}

}  // namespace

Result<TaskOutputs> run_train(const TaskContext& ctx, const TrainOptions& o) {
  if (o.epochs < 1 || o.batch_size < 1 || o.dim < 1 || !(o.lr > 0) || o.shift < 0)
    return Error{"train: --epochs, --batch-size, --dim and --lr must be positive"};
  auto dref = ctx.artifact("dataset");
  if (!dref) return Error{"train: " + dref.error()};
  auto sref = ctx.artifact("split");
  if (!sref) return Error{"train: " + sref.error()};
  auto d = read_dataset(dref->path);
  if (!d) return Error{"train: " + d.error()};
  if (!d->is_float) return Error{"train: dataset has raw u8 pixels; run transform first"};
  auto split = read_json_object(sref->path);
  if (!split) return Error{"train: " + split.error()};
  if (get_int(*split, "n", -1) != d->size())
    return Error{"train: split was made for " + std::to_string(get_int(*split, "n", -1)) +
                 " samples, dataset has " + std::to_string(d->size())};
  std::vector<int64_t> train_idx = indices(*split, "train", d->size());
  std::vector<int64_t> val_idx = indices(*split, "val", d->size());
  if (train_idx.empty()) return Error{"train: the split has no training samples"};
  for (int64_t s = 0; s < d->size(); ++s)
    if (d->labels[s] >= kClasses)
      return Error{"train: label " + std::to_string(d->labels[s]) + " at sample " +
                   std::to_string(s) + " is outside 0..9"};
  if (d->rows % 4 || d->cols % 4) return Error{"train: image size must be a multiple of 4"};
  const json::object* norm = nullptr;
  if (const json::value* v = find(d->meta, "normalisation"); v && v->is_object())
    norm = &v->get_object();
  const double mean = norm && find(*norm, "mean") ? find(*norm, "mean")->to_number<double>() : 0.0;
  const double stddev = norm && find(*norm, "std") ? find(*norm, "std")->to_number<double>() : 1.0;

  try {
    torch::manual_seed(o.seed);
    std::mt19937_64 rng(o.seed);
    torch::jit::Module m = build_module(d->rows, d->cols, o.dim, mean, stddev);
    torch::Tensor head = torch::empty({kClasses, o.dim}).uniform_(-1, 1).requires_grad_();
    std::vector<torch::Tensor> params;
    for (const auto& p : m.parameters()) params.push_back(p);
    params.push_back(head);
    torch::optim::Adam opt(params, torch::optim::AdamOptions(o.lr));
    const int64_t steps_per_epoch =
        (static_cast<int64_t>(train_idx.size()) + o.batch_size - 1) / o.batch_size;
    const int64_t total = steps_per_epoch * o.epochs;
    int64_t step = 0;
    double epoch_loss = 0, val_acc = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (int epoch = 1; epoch <= o.epochs; ++epoch) {
      std::shuffle(train_idx.begin(), train_idx.end(), rng);
      double sum = 0;
      for (size_t b = 0; b < train_idx.size(); b += o.batch_size, ++step) {
        for (auto& g : opt.param_groups())
          static_cast<torch::optim::AdamOptions&>(g.options()).lr(one_cycle(o.lr, step, total));
        torch::Tensor x, y;
        fill_batch(*d, train_idx, b, std::min<size_t>(o.batch_size, train_idx.size() - b), o.shift,
                   rng, x, y);
        torch::Tensor loss = torch::nn::functional::cross_entropy(logits(m, head, x), y);
        const double lv = loss.item<double>();
        if (!std::isfinite(lv)) {
          ctx.metric("loss", lv, step);
          return Error{"train: loss is " + std::string(std::isnan(lv) ? "NaN" : "infinite") +
                       " at epoch " + std::to_string(epoch) + " step " + std::to_string(step) +
                       " (non-finite input or --lr too high)"};
        }
        opt.zero_grad();
        loss.backward();
        opt.step();
        sum += lv;
        if (o.log_every > 0 && step % o.log_every == 0) ctx.metric("loss", lv, step);
      }
      epoch_loss = sum / static_cast<double>(steps_per_epoch);
      val_acc = accuracy(m, head, *d, val_idx);
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      log::info("train: epoch {}/{} loss {:.4f} val_accuracy {:.4f} ({:.1f} s)", epoch, o.epochs,
                epoch_loss, val_acc, secs);
      ctx.metric("loss_epoch", epoch_loss, epoch);
      ctx.metric("val_accuracy", val_acc, epoch);
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const std::string path = ctx.out_path("model.pt");
    m.save(path);
    TaskOutputs out;
    out.add_artifact("model", path, "model");
    out.outputs["loss"] = epoch_loss;
    out.outputs["val_accuracy"] = val_acc;
    out.outputs["epochs"] = o.epochs;
    out.outputs["steps"] = step;
    out.outputs["train_seconds"] = secs;
    out.outputs["lr"] = o.lr;
    out.outputs["dim"] = o.dim;
    out.outputs["batch_size"] = o.batch_size;
    out.outputs["seed"] = o.seed;
    out.outputs["train_count"] = static_cast<int64_t>(train_idx.size());
    return out;
  } catch (const std::exception& e) {
    std::string msg = e.what();
    return Error{"train: libtorch error: " + msg.substr(0, msg.find('\n'))};
  }
}

}  // namespace ctflow::tasks
