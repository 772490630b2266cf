// validate-data: the rules a partitioned image data set must pass before training.
// Each rule adds a finding to the report; a broken rule makes the task fail with the first
// reason (the report, written either way, lists them all).
#include <cmath>
#include <unordered_map>

#include "scheduler/common/log.hpp"
#include "tasks/data/steps.hpp"

namespace ctflow::tasks {

double psi(const std::vector<double>& expected, const std::vector<double>& actual) {
  double te = 0, ta = 0;
  for (double v : expected) te += v;
  for (double v : actual) ta += v;
  if (te <= 0 || ta <= 0) return 0;
  double s = 0;
  for (size_t i = 0; i < expected.size() && i < actual.size(); ++i) {
    double e = std::max(expected[i] / te, 1e-4), a = std::max(actual[i] / ta, 1e-4);
    s += (a - e) * std::log(a / e);
  }
  return s;
}

namespace {

constexpr int kIntensityBins = 20;

struct Stats {
  std::vector<double> labels, intensity;  // histograms
};

uint64_t fnv1a(const uint8_t* p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

class Checker {
 public:
  Checker(const ValidateDataOptions& o, json::object& report) : o_(o), report_(report) {}

  void fail(const std::string& reason) {
    if (first_failure_.empty()) first_failure_ = reason;
    report_["failures"].as_array().push_back(json::string(reason));
  }
  void warn(const std::string& reason) {
    log::warn("validate-data: {}", reason);
    report_["warnings"].as_array().push_back(json::string(reason));
  }
  const std::string& first_failure() const { return first_failure_; }

  // Schema, label range, intensity and blank images of one dataset; per-partition statistics.
  std::vector<Stats> check(const std::string& what, const Dataset& d) {
    if (d.is_float) fail(what + ": dtype is f32, expected raw u8 pixels");
    if (d.rows != o_.rows || d.cols != o_.cols)
      fail(what + ": images are " + std::to_string(d.rows) + "x" + std::to_string(d.cols) +
           ", expected " + std::to_string(o_.rows) + "x" + std::to_string(o_.cols));
    std::vector<Stats> per(d.partitions.size());
    for (auto& s : per) {
      s.labels.assign(o_.num_classes, 0);
      s.intensity.assign(kIntensityBins, 0);
    }
    const int64_t ppi = d.pixels_per_image();
    double total = 0;
    int64_t blank = 0, bad_label = -1;
    for (int64_t s = 0; s < d.size() && !d.is_float; ++s) {
      if (d.labels[s] >= o_.num_classes && bad_label < 0) bad_label = s;
      const uint8_t* img = d.pixels_u8.data() + s * ppi;
      double sum = 0;
      uint8_t mx = 0;
      for (int64_t i = 0; i < ppi; ++i) {
        sum += img[i];
        mx = std::max(mx, img[i]);
      }
      double mean = sum / (255.0 * ppi);
      total += mean;
      if (mx < 26) ++blank;
      Stats& st = per[d.partition[s]];
      if (d.labels[s] < o_.num_classes) st.labels[d.labels[s]] += 1;
      st.intensity[std::min(kIntensityBins - 1, static_cast<int>(mean * kIntensityBins))] += 1;
    }
    if (bad_label >= 0)
      fail(what + ": label " + std::to_string(d.labels[bad_label]) + " at sample " +
           std::to_string(bad_label) + " is outside 0.." + std::to_string(o_.num_classes - 1));
    for (const auto& p : d.partitions)
      if (p.count == 0) fail(what + ": partition " + p.name + " is empty");
    if (d.size() == 0) {
      fail(what + ": no samples");
      return per;
    }
    const double mean = total / static_cast<double>(d.size());
    const double blank_frac = static_cast<double>(blank) / static_cast<double>(d.size());
    report_[what] =
        json::object{{"samples", d.size()}, {"mean_intensity", mean}, {"blank_images", blank}};
    if (mean < o_.min_mean || mean > o_.max_mean)
      fail(what + ": mean pixel intensity " + std::to_string(mean) + " outside [" +
           std::to_string(o_.min_mean) + ", " + std::to_string(o_.max_mean) + "]");
    if (blank_frac > o_.max_blank_fraction)
      fail(what + ": " + std::to_string(blank) + " blank images (" +
           std::to_string(100 * blank_frac) + "%)");
    return per;
  }

  // Exact duplicate images within `d` and of `d` in `seen` (leakage between train and test).
  int64_t duplicates(const Dataset& d, std::unordered_map<uint64_t, int64_t>& seen) {
    int64_t dup = 0;
    const int64_t ppi = d.pixels_per_image();
    for (int64_t s = 0; s < d.size() && !d.is_float; ++s)
      if (!seen.emplace(fnv1a(d.pixels_u8.data() + s * ppi, ppi), s).second) ++dup;
    return dup;
  }

 private:
  const ValidateDataOptions& o_;
  json::object& report_;
  std::string first_failure_;
};

}  // namespace

Result<TaskOutputs> run_validate_data(const TaskContext& ctx, const ValidateDataOptions& o) {
  auto raw_ref = ctx.artifact("raw");
  if (!raw_ref) return Error{"validate-data: " + raw_ref.error()};
  auto test_ref = ctx.artifact("raw-test");
  if (!test_ref) return Error{"validate-data: " + test_ref.error()};
  auto train = read_dataset(raw_ref->path);
  if (!train) return Error{"validate-data: " + train.error()};
  auto test = read_dataset(test_ref->path);
  if (!test) return Error{"validate-data: " + test.error()};

  json::object report{{"failures", json::array()}, {"warnings", json::array()}};
  Checker c(o, report);
  std::vector<Stats> parts = c.check("train", *train);
  std::vector<Stats> test_stats = c.check("test", *test);

  // Label mix: every class present in a fair share, compared with the test set as reference.
  Stats all{std::vector<double>(o.num_classes, 0), std::vector<double>(kIntensityBins, 0)};
  for (const auto& p : parts)
    for (int k = 0; k < o.num_classes; ++k) all.labels[k] += p.labels[k];
  json::array mix;
  for (int k = 0; k < o.num_classes; ++k) {
    double frac = train->size() ? all.labels[k] / static_cast<double>(train->size()) : 0;
    mix.push_back(frac);
    if (train->size() && frac < o.min_class_fraction / o.num_classes)
      c.fail("train: class " + std::to_string(k) + " is " + std::to_string(100 * frac) +
             "% of the samples, below " +
             std::to_string(100 * o.min_class_fraction / o.num_classes) + "%");
  }
  report["label_mix"] = std::move(mix);
  if (!test_stats.empty()) report["label_psi_vs_test"] = psi(test_stats[0].labels, all.labels);

  std::unordered_map<uint64_t, int64_t> seen;
  const int64_t dup_train = c.duplicates(*train, seen);
  const int64_t dup_test = c.duplicates(*test, seen);
  report["duplicates"] = json::object{{"train", dup_train}, {"test_in_train_or_test", dup_test}};
  if (train->size() && dup_train > o.max_duplicate_fraction * static_cast<double>(train->size()))
    c.fail("train: " + std::to_string(dup_train) + " duplicate images");
  if (test->size() && dup_test > o.max_duplicate_fraction * static_cast<double>(test->size()))
    c.warn("test: " + std::to_string(dup_test) + " test images also appear earlier");

  // Drift between consecutive partitions: PSI of the mean-intensity histogram and label mix.
  json::array drift;
  double max_psi = 0;
  for (size_t i = 1; i < parts.size(); ++i) {
    double pi = psi(parts[i - 1].intensity, parts[i].intensity);
    double pl = psi(parts[i - 1].labels, parts[i].labels);
    max_psi = std::max({max_psi, pi, pl});
    drift.push_back(json::object{
        {"partition", train->partitions[i].name}, {"intensity_psi", pi}, {"label_psi", pl}});
    std::string what = "partition " + train->partitions[i].name + " drifted from " +
                       train->partitions[i - 1].name + " (PSI intensity " + std::to_string(pi) +
                       ", labels " + std::to_string(pl) + ")";
    if (o.max_psi && std::max(pi, pl) > *o.max_psi)
      c.fail(what);
    else if (std::max(pi, pl) > 0.25)
      c.warn(what);
  }
  report["drift"] = std::move(drift);
  report["max_psi"] = max_psi;

  const std::string path = ctx.out_path("data-report.json");
  if (auto w = write_json(path, report); !w) return Error{"validate-data: " + w.error()};
  if (!c.first_failure().empty()) {
    size_t n = report["failures"].as_array().size();
    return Error{"validate-data: " + c.first_failure() +
                 (n > 1 ? " (and " + std::to_string(n - 1) + " more, see " + path + ")" : "")};
  }
  TaskOutputs out;
  out.add_artifact("data-report", path, "report");
  out.outputs["valid"] = true;
  out.outputs["samples"] = train->size();
  out.outputs["duplicates"] = dup_train;
  out.outputs["max_psi"] = max_psi;
  out.outputs["warnings"] = report["warnings"];
  return out;
}

}  // namespace ctflow::tasks
