#include "scheduler/monitor/evaluate.hpp"

#include <algorithm>
#include <cmath>
#include <map>

namespace ctflow::monitor {

namespace {

constexpr double kFloor = 1e-4;
constexpr int kBins = 10;

double psi_of(const std::vector<double>& ref_share, const std::vector<double>& live_share) {
  double psi = 0;
  for (size_t i = 0; i < ref_share.size(); ++i) {
    double e = std::max(ref_share[i], kFloor), a = std::max(live_share[i], kFloor);
    psi += (a - e) * std::log(a / e);
  }
  return psi;
}

std::vector<double> feature(const std::vector<Point>& points, const std::string& name) {
  std::vector<double> out;
  out.reserve(points.size());
  for (const auto& p : points)
    out.push_back(name == "mean" ? p.mean : name == "ink" ? p.ink : p.prediction);
  return out;
}

}  // namespace

double psi_continuous(std::vector<double> reference, const std::vector<double>& live) {
  if (reference.empty() || live.empty()) return 0;
  std::sort(reference.begin(), reference.end());
  // Cut points at the reference's deciles, without duplicates (a constant feature: one bin).
  std::vector<double> cuts;
  for (int i = 1; i < kBins; ++i) {
    double c = reference[reference.size() * i / kBins];
    if (cuts.empty() || c > cuts.back()) cuts.push_back(c);
  }
  auto bin = [&](double x) {
    return static_cast<size_t>(std::upper_bound(cuts.begin(), cuts.end(), x) - cuts.begin());
  };
  std::vector<double> e(cuts.size() + 1), a(cuts.size() + 1);
  for (double x : reference) e[bin(x)] += 1.0 / reference.size();
  for (double x : live) a[bin(x)] += 1.0 / live.size();
  return psi_of(e, a);
}

double psi_classes(const std::vector<int>& reference, const std::vector<int>& live) {
  if (reference.empty() || live.empty()) return 0;
  std::map<int, std::pair<double, double>> shares;
  for (int c : reference) shares[c].first += 1.0 / reference.size();
  for (int c : live) shares[c].second += 1.0 / live.size();
  std::vector<double> e, a;
  for (const auto& [c, s] : shares) {
    e.push_back(s.first);
    a.push_back(s.second);
  }
  return psi_of(e, a);
}

double ks_statistic(std::vector<double> reference, std::vector<double> live) {
  if (reference.empty() || live.empty()) return 0;
  std::sort(reference.begin(), reference.end());
  std::sort(live.begin(), live.end());
  size_t i = 0, j = 0;
  double d = 0;
  while (i < reference.size() && j < live.size()) {
    double x = std::min(reference[i], live[j]);
    while (i < reference.size() && reference[i] <= x) ++i;
    while (j < live.size() && live[j] <= x) ++j;
    d = std::max(d, std::fabs(static_cast<double>(i) / reference.size() -
                              static_cast<double>(j) / live.size()));
  }
  return d;
}

boost::json::object Crossing::to_json() const {
  boost::json::object o{{"metric", metric}, {"value", value}, {"threshold", threshold}};
  if (!feature.empty()) o["feature"] = feature;
  o[metric == "accuracy" ? "labels" : "samples"] = samples;
  return o;
}

Evaluation evaluate(const spec::Monitor& m, const std::vector<Point>& labeled,
                    const std::vector<Point>& reference, const std::vector<Point>& live,
                    int64_t total) {
  Evaluation e;
  for (const auto& p : labeled) e.labels += p.label.has_value();
  if (e.labels >= m.min_labels) {
    int64_t correct = 0;
    for (const auto& p : labeled) correct += p.label && *p.label == p.prediction;
    e.accuracy = static_cast<double>(correct) / static_cast<double>(e.labels);
    if (m.accuracy_below && *e.accuracy < *m.accuracy_below)
      e.crossed.push_back({"accuracy", "", *e.accuracy, *m.accuracy_below, e.labels});
  }
  if (m.drift && total >= 2 * static_cast<int64_t>(m.window) && !reference.empty() &&
      !live.empty()) {
    const auto& d = *m.drift;
    auto ref = feature(reference, d.feature), cur = feature(live, d.feature);
    double v = 0;
    if (d.metric == "ks") {
      v = ks_statistic(ref, cur);
    } else if (d.feature == "prediction") {
      std::vector<int> rc(ref.begin(), ref.end()), lc(cur.begin(), cur.end());
      v = psi_classes(rc, lc);
    } else {
      v = psi_continuous(ref, cur);
    }
    e.drift = v;
    if (v > d.threshold)
      e.crossed.push_back({d.metric, d.feature, v, d.threshold, static_cast<int64_t>(live.size())});
  }
  return e;
}

const char* decision_name(Decision d) {
  switch (d) {
    case Decision::ok:
      return "ok";
    case Decision::insufficient:
      return "insufficient";
    case Decision::trigger:
      return "triggered";
    case Decision::cooldown:
      return "cooldown";
    case Decision::busy:
      return "busy";
  }
  return "ok";
}

Decision decide(const Evaluation& e, const spec::Monitor& m, TimePoint now,
                std::optional<TimePoint> last_triggered, bool own_run_active, int active_runs,
                int concurrency) {
  if (e.crossed.empty()) return e.judged() ? Decision::ok : Decision::insufficient;
  if (last_triggered && now < *last_triggered + m.cooldown) return Decision::cooldown;
  if (own_run_active || (concurrency > 0 && active_runs >= concurrency)) return Decision::busy;
  return Decision::trigger;
}

}  // namespace ctflow::monitor
