// The monitor's judgement: drift statistics on known samples, thresholds crossed or not, and
// the cooldown and busy rules (scheduler/monitor/evaluate.hpp).
#include <catch2/catch.hpp>

#include "scheduler/monitor/evaluate.hpp"

using namespace ctflow;
using namespace ctflow::monitor;

namespace {

std::vector<Point> points(int n, double mean, int correct_every, int prediction = 1) {
  std::vector<Point> out;
  for (int i = 0; i < n; ++i) {
    Point p;
    p.prediction = prediction;
    p.label = (correct_every > 0 && i % correct_every == 0) ? prediction : prediction + 1;
    p.mean = mean + 0.001 * (i % 10);
    p.ink = mean;
    out.push_back(p);
  }
  return out;
}

spec::Monitor monitor_of(std::optional<double> below, std::optional<spec::Monitor::Drift> drift) {
  spec::Monitor m;
  m.model = "mnist";
  m.window = 100;
  m.min_labels = 50;
  m.accuracy_below = below;
  m.drift = drift;
  m.cooldown = Millis(3'600'000);
  return m;
}

}  // namespace

TEST_CASE("drift statistics: equal samples are 0, disjoint ones are large", "[monitor]") {
  std::vector<double> a, b;
  for (int i = 0; i < 1000; ++i) {
    a.push_back(i / 1000.0);
    b.push_back(0.5 + i / 2000.0);
  }
  CHECK(psi_continuous(a, a) == Approx(0).margin(1e-9));
  CHECK(ks_statistic(a, a) == Approx(0).margin(1e-9));
  CHECK(ks_statistic(a, b) == Approx(0.5).margin(0.002));
  CHECK(psi_continuous(a, b) > 1.0);
  std::vector<double> far(1000, 5.0);
  CHECK(ks_statistic(a, far) == Approx(1.0));
  // Classes: the same mix is 0; a shift from uniform over 10 classes to one class is large.
  std::vector<int> uniform, one(1000, 3);
  for (int i = 0; i < 1000; ++i) uniform.push_back(i % 10);
  CHECK(psi_classes(uniform, uniform) == Approx(0).margin(1e-9));
  CHECK(psi_classes(uniform, one) > 2.0);
}

TEST_CASE("accuracy below the threshold crosses once min_labels are in", "[monitor]") {
  auto m = monitor_of(0.8, std::nullopt);
  auto e = evaluate(m, points(40, 0.1, 2), {}, {}, 40);  // 40 labels < min_labels 50
  CHECK_FALSE(e.accuracy);
  CHECK(e.crossed.empty());
  e = evaluate(m, points(100, 0.1, 2), {}, {}, 100);  // half right
  REQUIRE(e.accuracy);
  CHECK(*e.accuracy == Approx(0.5));
  REQUIRE(e.crossed.size() == 1);
  CHECK(e.crossed[0].metric == "accuracy");
  CHECK(e.crossed[0].samples == 100);
  CHECK(boost::json::serialize(e.crossed[0].to_json()) ==
        R"({"metric":"accuracy","value":5E-1,"threshold":8E-1,"labels":100})");
  e = evaluate(m, points(100, 0.1, 1), {}, {}, 100);  // all right
  CHECK(*e.accuracy == Approx(1.0));
  CHECK(e.crossed.empty());
}

TEST_CASE("drift needs twice the window and crosses on a shifted feature", "[monitor]") {
  auto m = monitor_of(std::nullopt, spec::Monitor::Drift{"ks", "mean", 0.3});
  auto ref = points(100, 0.1, 1), same = points(100, 0.1, 1), shifted = points(100, 0.9, 1);
  CHECK_FALSE(evaluate(m, {}, ref, shifted, 150).drift);  // reference and live would overlap
  auto e = evaluate(m, {}, ref, same, 200);
  REQUIRE(e.drift);
  CHECK(*e.drift == Approx(0).margin(1e-9));
  CHECK(e.crossed.empty());
  e = evaluate(m, {}, ref, shifted, 200);
  CHECK(*e.drift == Approx(1.0));
  REQUIRE(e.crossed.size() == 1);
  CHECK(e.crossed[0].feature == "mean");
  m.drift = spec::Monitor::Drift{"psi", "prediction", 0.2};
  CHECK(evaluate(m, {}, ref, points(100, 0.1, 1, 4), 200).crossed.size() == 1);
  CHECK(evaluate(m, {}, ref, same, 200).crossed.empty());
}

TEST_CASE("a crossing starts a run unless cooling down or busy", "[monitor]") {
  auto m = monitor_of(0.8, std::nullopt);
  auto low = evaluate(m, points(100, 0.1, 2), {}, {}, 100);
  auto fine = evaluate(m, points(100, 0.1, 1), {}, {}, 100);
  auto none = evaluate(m, {}, {}, {}, 0);
  const TimePoint now = *parse_iso8601("2030-01-01T12:00:00Z");
  CHECK(decide(none, m, now, std::nullopt, false, 0, 0) == Decision::insufficient);
  CHECK(decide(fine, m, now, std::nullopt, false, 0, 0) == Decision::ok);
  CHECK(decide(low, m, now, std::nullopt, false, 0, 0) == Decision::trigger);
  CHECK(decide(low, m, now, now - std::chrono::minutes(59), false, 0, 0) == Decision::cooldown);
  CHECK(decide(low, m, now, now - std::chrono::minutes(60), false, 0, 0) == Decision::trigger);
  CHECK(decide(low, m, now, std::nullopt, true, 1, 0) == Decision::busy);
  CHECK(decide(low, m, now, std::nullopt, false, 1, 1) == Decision::busy);
  CHECK(decide(low, m, now, std::nullopt, false, 1, 2) == Decision::trigger);
  CHECK(std::string(decision_name(Decision::trigger)) == "triggered");
}
