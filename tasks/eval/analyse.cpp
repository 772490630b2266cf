// analyse: per-class slices of evaluate's predictions and the hardest misclassified test images
// (the most confident wrong votes) as PNG artifacts "hardest-0", "hardest-1", ... plus a strip
// of all of them ("hardest") and a JSON report ("analysis") for the dashboard.
#include <algorithm>
#include <numeric>
#include <unordered_map>

#include "scheduler/common/log.hpp"
#include "tasks/eval/png.hpp"
#include "tasks/eval/steps.hpp"

namespace ctflow::tasks {

namespace {

constexpr int kClasses = 10;

Result<std::vector<int64_t>> int_array(const json::object& o, const char* key, size_t n) {
  const json::value* v = find(o, key);
  if (!v || !v->is_array() || (n != SIZE_MAX && v->get_array().size() != n))
    return Error{std::string("predictions: \"") + key + "\" is missing or has the wrong length"};
  std::vector<int64_t> out;
  for (const auto& e : v->get_array()) {
    if (!e.is_int64())
      return Error{std::string("predictions: \"") + key + "\" holds a non-integer"};
    out.push_back(e.get_int64());
  }
  return out;
}

}  // namespace

Result<TaskOutputs> run_analyse(const TaskContext& ctx, const AnalyseOptions& o) {
  if (o.top < 0 || o.scale < 1 || o.scale > 16)
    return Error{"analyse: --top must be >= 0 and --scale in 1..16"};
  auto pref = ctx.artifact("predictions");
  if (!pref) return Error{"analyse: " + pref.error()};
  auto tref = ctx.artifact("testset");
  if (!tref) return Error{"analyse: " + tref.error()};
  auto preds = read_json_object(pref->path);
  if (!preds) return Error{"analyse: " + preds.error()};
  auto test = read_dataset(tref->path);
  if (!test) return Error{"analyse: " + test.error()};
  auto ids = int_array(*preds, "ids", SIZE_MAX);
  if (!ids) return Error{"analyse: " + ids.error()};
  const size_t n = ids->size();
  auto labels = int_array(*preds, "labels", n);
  auto pred = int_array(*preds, "pred", n);
  if (!labels || !pred) return Error{"analyse: " + (!labels ? labels.error() : pred.error())};
  const json::value* conf_v = find(*preds, "confidence");
  if (!conf_v || !conf_v->is_array() || conf_v->get_array().size() != n)
    return Error{"analyse: predictions: \"confidence\" is missing or has the wrong length"};

  // Predictions refer to test samples by source id.
  std::unordered_map<int64_t, int64_t> row_of;
  for (int64_t s = 0; s < test->size(); ++s) row_of[test->ids[s]] = s;

  std::vector<int64_t> count(kClasses, 0), correct(kClasses, 0);
  std::vector<std::vector<int64_t>> confused(kClasses, std::vector<int64_t>(kClasses, 0));
  std::vector<size_t> wrong;
  for (size_t i = 0; i < n; ++i) {
    int64_t l = (*labels)[i], p = (*pred)[i];
    if (l < 0 || l >= kClasses || p < 0 || p >= kClasses)
      return Error{"analyse: predictions: class outside 0..9 at entry " + std::to_string(i)};
    count[l]++;
    if (l == p)
      correct[l]++;
    else {
      confused[l][p]++;
      wrong.push_back(i);
    }
  }
  json::array slices;
  int worst = 0;
  auto acc = [&](int c) { return count[c] ? static_cast<double>(correct[c]) / count[c] : 1.0; };
  for (int c = 0; c < kClasses; ++c) {
    int other = static_cast<int>(std::max_element(confused[c].begin(), confused[c].end()) -
                                 confused[c].begin());
    slices.push_back(json::object{{"class", c},
                                  {"count", count[c]},
                                  {"accuracy", acc(c)},
                                  {"most_confused_with", confused[c][other] ? other : -1},
                                  {"confused_count", confused[c][other]}});
    if (acc(c) < acc(worst)) worst = c;
  }
  // Hardest: the most confident mistakes first; ties by id for a stable order.
  auto confidence = [&](size_t i) { return conf_v->get_array()[i].to_number<double>(); };
  std::sort(wrong.begin(), wrong.end(), [&](size_t a, size_t b) {
    return confidence(a) != confidence(b) ? confidence(a) > confidence(b) : (*ids)[a] < (*ids)[b];
  });
  TaskOutputs out;
  json::array hardest;
  const int R = static_cast<int>(test->rows), C = static_cast<int>(test->cols);
  const size_t top = std::min<size_t>(o.top, wrong.size());
  std::vector<uint8_t> strip(static_cast<size_t>(R * o.scale) * C * o.scale * top);
  std::vector<float> img(R * C);
  for (size_t h = 0; h < top; ++h) {
    const size_t i = wrong[h];
    auto row = row_of.find((*ids)[i]);
    if (row == row_of.end())
      return Error{"analyse: predicted sample id " + std::to_string((*ids)[i]) +
                   " is not in the test set"};
    for (int k = 0; k < R * C; ++k) img[k] = test->pixel01(row->second, k);
    std::vector<uint8_t> png = upscale_gray(img.data(), C, R, o.scale);
    const std::string name = "hardest-" + std::to_string(h);
    const std::string path = ctx.out_path(name + ".png");
    if (auto w = write_png_gray(path, png, C * o.scale, R * o.scale); !w)
      return Error{"analyse: " + w.error()};
    out.add_artifact(name, path, "image");
    const int W = C * o.scale * static_cast<int>(top);
    for (int r = 0; r < R * o.scale; ++r)
      std::copy_n(png.begin() + r * C * o.scale, C * o.scale,
                  strip.begin() + static_cast<size_t>(r) * W + h * C * o.scale);
    hardest.push_back(json::object{{"id", (*ids)[i]},
                                   {"label", (*labels)[i]},
                                   {"pred", (*pred)[i]},
                                   {"confidence", confidence(i)},
                                   {"artifact", name}});
  }
  if (top > 0) {
    const std::string path = ctx.out_path("hardest.png");
    if (auto w = write_png_gray(path, strip, C * o.scale * static_cast<int>(top), R * o.scale); !w)
      return Error{"analyse: " + w.error()};
    out.add_artifact("hardest", path, "image");
  }
  const std::string report_path = ctx.out_path("analysis.json");
  json::object report{{"slices", slices},
                      {"hardest", hardest},
                      {"misclassified", static_cast<int64_t>(wrong.size())},
                      {"total", static_cast<int64_t>(n)}};
  if (auto w = write_json(report_path, report); !w) return Error{"analyse: " + w.error()};
  out.add_artifact("analysis", report_path, "report");
  out.outputs["misclassified"] = static_cast<int64_t>(wrong.size());
  out.outputs["worst_class"] = worst;
  out.outputs["worst_class_accuracy"] = acc(worst);
  out.outputs["slices"] = std::move(slices);
  out.outputs["hardest"] = std::move(hardest);
  log::info("analyse: {} of {} misclassified; worst class {} ({:.2f}%)", wrong.size(), n, worst,
            100 * acc(worst));
  return out;
}

}  // namespace ctflow::tasks
