// transform (pixels to float in [0,1], normalisation statistics) and split (stratified,
// seeded train/validation split). Both are cheap; they live together to keep the file count low.
#include <algorithm>
#include <cmath>
#include <random>

#include "scheduler/common/log.hpp"
#include "tasks/data/steps.hpp"

namespace ctflow::tasks {

static Dataset to_float(const Dataset& d) {
  Dataset f = d;
  f.pixels_u8.clear();
  f.pixels_u8.shrink_to_fit();
  f.is_float = true;
  f.pixels_f32.resize(d.pixels_u8.size());
  for (size_t i = 0; i < d.pixels_u8.size(); ++i) f.pixels_f32[i] = d.pixels_u8[i] / 255.0f;
  return f;
}

// The statistics are stored with the data rather than applied to it: the model applies them as
// its first layer, so every consumer (evaluate, the gate, ctflow-serve) feeds the same [0,1]
// pixels and a deployed model keeps the statistics of the data it was trained on.
Result<TaskOutputs> run_transform(const TaskContext& ctx, const TransformOptions&) {
  auto raw_ref = ctx.artifact("raw");
  if (!raw_ref) return Error{"transform: " + raw_ref.error()};
  auto test_ref = ctx.artifact("raw-test");
  if (!test_ref) return Error{"transform: " + test_ref.error()};
  auto raw = read_dataset(raw_ref->path);
  if (!raw) return Error{"transform: " + raw.error()};
  auto raw_test = read_dataset(test_ref->path);
  if (!raw_test) return Error{"transform: " + raw_test.error()};
  if (raw->is_float || raw_test->is_float)
    return Error{"transform: input is already float; expected raw u8 datasets"};
  if (raw->size() == 0) return Error{"transform: the training set is empty"};
  double sum = 0, sq = 0;
  for (uint8_t p : raw->pixels_u8) {
    double v = p / 255.0;
    sum += v;
    sq += v * v;
  }
  const double n = static_cast<double>(raw->pixels_u8.size());
  const double mean = sum / n, stddev = std::sqrt(std::max(sq / n - mean * mean, 1e-12));
  if (stddev < 1e-6) return Error{"transform: pixel standard deviation is 0 (constant images)"};
  Dataset train = to_float(*raw), test = to_float(*raw_test);
  for (Dataset* d : {&train, &test}) {
    d->meta["normalisation"] = json::object{{"mean", mean}, {"std", stddev}};
  }
  const std::string dp = ctx.out_path("dataset.ctds"), tp = ctx.out_path("testset.ctds");
  if (auto w = write_dataset(dp, train); !w) return Error{"transform: " + w.error()};
  if (auto w = write_dataset(tp, test); !w) return Error{"transform: " + w.error()};
  log::info("transform: {} training, {} test images; mean {:.4f} std {:.4f}", train.size(),
            test.size(), mean, stddev);
  TaskOutputs out;
  out.add_artifact("dataset", dp, "dataset");
  out.add_artifact("testset", tp, "dataset");
  out.outputs["mean"] = mean;
  out.outputs["std"] = stddev;
  out.outputs["count"] = train.size();
  out.outputs["test_count"] = test.size();
  return out;
}

Result<TaskOutputs> run_split(const TaskContext& ctx, const SplitOptions& o) {
  if (!(o.val_fraction > 0 && o.val_fraction < 1))
    return Error{"split: --val-fraction must be in (0, 1)"};
  auto ref = ctx.artifact("dataset");
  if (!ref) return Error{"split: " + ref.error()};
  auto d = read_dataset(ref->path);
  if (!d) return Error{"split: " + d.error()};
  // Per class: shuffle its samples with the seed, the first ceil(fraction * count) go to
  // validation; both lists are sorted so the split file does not depend on iteration order.
  std::vector<std::vector<int64_t>> by_class(256);
  for (int64_t s = 0; s < d->size(); ++s) by_class[d->labels[s]].push_back(s);
  std::mt19937_64 rng(o.seed);
  json::array train, val;
  std::vector<int64_t> tr, va;
  for (auto& members : by_class) {
    if (members.empty()) continue;
    std::shuffle(members.begin(), members.end(), rng);
    auto nval =
        static_cast<size_t>(std::ceil(o.val_fraction * static_cast<double>(members.size())));
    if (members.size() == 1) nval = 0;
    va.insert(va.end(), members.begin(), members.begin() + static_cast<std::ptrdiff_t>(nval));
    tr.insert(tr.end(), members.begin() + static_cast<std::ptrdiff_t>(nval), members.end());
  }
  std::sort(tr.begin(), tr.end());
  std::sort(va.begin(), va.end());
  if (tr.empty() || va.empty()) return Error{"split: too few samples for a train/validation split"};
  for (int64_t s : tr) train.push_back(s);
  for (int64_t s : va) val.push_back(s);
  const std::string path = ctx.out_path("split.json");
  json::object doc{{"seed", o.seed},
                   {"val_fraction", o.val_fraction},
                   {"n", d->size()},
                   {"train", std::move(train)},
                   {"val", std::move(val)}};
  if (auto w = write_json(path, doc); !w) return Error{"split: " + w.error()};
  TaskOutputs out;
  out.add_artifact("split", path, "split");
  out.outputs["train_count"] = static_cast<int64_t>(tr.size());
  out.outputs["val_count"] = static_cast<int64_t>(va.size());
  return out;
}

}  // namespace ctflow::tasks
