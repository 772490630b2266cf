#include <catch2/catch.hpp>

#include <cmath>
#include <set>

#include "scheduler/hpo/study.hpp"

using namespace ctflow::hpo;
namespace json = boost::json;

namespace {
StudyConfig config(Algorithm a, const char* space_json, uint64_t seed = 0) {
  std::vector<std::string> errors;
  auto s = parse_space(json::parse(space_json), "space", errors);
  REQUIRE(s);
  return StudyConfig{a, Goal::Minimize, seed, *s};
}
const char* kMixed = R"({"lr": {"type": "float", "min": 1e-4, "max": 0.1, "log": true},
                         "dim": {"type": "int", "values": [32, 64, 128]},
                         "layers": {"type": "int", "min": 1, "max": 4},
                         "opt": {"type": "categorical", "values": ["adam", "sgd"]}})";
double objective(const json::object& p) {  // a smooth toy loss over the mixed space
  double lr = p.at("lr").as_double();
  return std::pow(std::log10(lr) + 2.5, 2) + (p.at("opt") == "sgd" ? 0.5 : 0) +
         0.1 * std::fabs(p.at("layers").as_int64() - 2.0) +
         (p.at("dim") == json::value(64) ? 0 : 0.2);
}
}  // namespace

TEST_CASE("grid is the exact cartesian product in a stable order, then exhausted", "[hpo][grid]") {
  StudyConfig c = config(Algorithm::Grid, R"({"b": {"type": "categorical", "values": ["x", "y"]},
      "a": {"type": "int", "min": 1, "max": 3}, "w": {"type": "float", "min": 0, "max": 1, "step": 0.5}})");
  auto all = suggest(c, {}, 100);
  REQUIRE(all);
  REQUIRE(all->suggestions.size() == 18);
  CHECK(all->exhausted);
  CHECK(json::serialize(all->suggestions[0].params) == R"({"a":1,"b":"x","w":0E0})");
  CHECK(json::serialize(all->suggestions[1].params) == R"({"a":1,"b":"x","w":5E-1})");
  CHECK(json::serialize(all->suggestions[17].params) == R"({"a":3,"b":"y","w":1E0})");
  std::set<std::string> distinct;
  for (const auto& s : all->suggestions) distinct.insert(json::serialize(s.params));
  CHECK(distinct.size() == 18);
  // Taken points (pending or done) are skipped; the order of the rest is unchanged.
  std::vector<TrialRecord> trials = {{all->suggestions[0].params, TrialState::Complete, 1.0},
                                     {all->suggestions[1].params, TrialState::Pending, {}}};
  auto next = suggest(c, trials, 2);
  REQUIRE(next);
  CHECK(next->suggestions[0].params == all->suggestions[2].params);
  CHECK(next->suggestions[1].params == all->suggestions[3].params);
  CHECK_FALSE(next->exhausted);
}

TEST_CASE("the same request gives the same suggestions and more trials give new ones", "[hpo]") {
  for (Algorithm a : {Algorithm::Random, Algorithm::Bayes}) {
    StudyConfig c = config(a, kMixed, 7);
    std::vector<TrialRecord> trials;
    for (int i = 0; i < 12; ++i) {
      auto s1 = suggest(c, trials, 2), s2 = suggest(c, trials, 2);
      REQUIRE(s1);
      REQUIRE(s2);
      CHECK(s1->suggestions[0].params == s2->suggestions[0].params);
      CHECK(s1->suggestions[1].params == s2->suggestions[1].params);
      CHECK(s1->suggestions[0].params != s1->suggestions[1].params);
      trials.push_back(
          {s1->suggestions[0].params, TrialState::Complete, objective(s1->suggestions[0].params)});
      auto s3 = suggest(c, trials, 1);
      REQUIRE(s3);
      CHECK(s3->suggestions[0].params != s1->suggestions[0].params);
    }
    StudyConfig other = config(a, kMixed, 8);
    CHECK(suggest(other, {}, 1)->suggestions[0].params != suggest(c, {}, 1)->suggestions[0].params);
  }
}

TEST_CASE("bayes suggestions stay valid and improve on a mixed space", "[hpo][bayes]") {
  StudyConfig c = config(Algorithm::Bayes, kMixed, 3);
  std::vector<TrialRecord> trials;
  double best_first8 = INFINITY, best = INFINITY;
  for (int i = 0; i < 30; ++i) {
    auto s = suggest(c, trials, 1);
    REQUIRE(s);
    const json::object& p = s->suggestions[0].params;
    std::string err;
    REQUIRE(encode_point(c.space, p, "p", err));  // inside bounds, on the lattice, known values
    double y = objective(p);
    best = std::min(best, y);
    if (i < 8) best_first8 = best;
    trials.push_back({p, TrialState::Complete, y});
  }
  CHECK(best < best_first8);
  CHECK(best < 0.35);  // optimum 0 at lr = 10^-2.5, adam, 2 layers, dim 64
}

TEST_CASE("pending trials and batch members are not suggested twice", "[hpo][bayes]") {
  StudyConfig c = config(Algorithm::Bayes, R"({"a": {"type": "int", "min": 0, "max": 3},
                                               "b": {"type": "int", "min": 0, "max": 3}})");
  std::vector<TrialRecord> trials;
  for (int i = 0; i < 8; ++i) {
    auto s = suggest(c, trials, 1);
    json::object p = s->suggestions[0].params;
    trials.push_back({p, TrialState::Complete,
                      std::pow(p["a"].as_int64() - 2.0, 2) + std::pow(p["b"].as_int64() - 1.0, 2)});
  }
  trials.push_back({json::object{{"a", 2}, {"b", 1}}, TrialState::Pending, {}});
  auto batch = suggest(c, trials, 4);
  REQUIRE(batch);
  std::set<std::string> seen;
  for (const auto& t : trials) seen.insert(json::serialize(t.params));
  for (const auto& s : batch->suggestions) CHECK(seen.insert(json::serialize(s.params)).second);
}

TEST_CASE("equal values, failures and maximize give finite, valid suggestions", "[hpo][bayes]") {
  StudyConfig c = config(Algorithm::Bayes, R"({"x": {"type": "float", "min": -1, "max": 1}})");
  c.goal = Goal::Maximize;
  std::vector<TrialRecord> trials;
  for (double x : {-0.9, -0.5, 0.0, 0.4, 0.8, 0.95})
    trials.push_back({json::object{{"x", x}}, TrialState::Complete, 1.0});
  trials.push_back({json::object{{"x", 0.1}}, TrialState::Failed, {}});
  trials.push_back({json::object{{"x", 0.2}}, TrialState::Pruned, 0.5});
  auto s = suggest(c, trials, 3);
  REQUIRE(s);
  for (const auto& sg : s->suggestions) {
    double x = sg.params.at("x").as_double();
    CHECK(std::isfinite(x));
    CHECK(x >= -1);
    CHECK(x <= 1);
  }
}

TEST_CASE("suggest rejects trials that do not fit and grids without a lattice", "[hpo]") {
  StudyConfig c = config(Algorithm::Random, R"({"lr": {"type": "float", "min": 0.1, "max": 1}})");
  auto r = suggest(c, {{json::object{{"lr", 5}}, TrialState::Complete, 1.0}}, 1);
  REQUIRE_FALSE(r);
  CHECK(r.error() == "trials[0].params.lr: 5 is outside [0.1, 1]");
  CHECK(suggest(c, {{json::object{{"lr", 0.5}}, TrialState::Complete, {}}}, 1).error() ==
        "trials[0].value: required for a complete trial");
  c.algorithm = Algorithm::Grid;
  CHECK(suggest(c, {}, 1).error().rfind("space.lr: a grid needs `values` or `step`", 0) == 0);
}

TEST_CASE("best_trial picks the best complete trial and ignores pruned ones", "[hpo]") {
  std::vector<TrialRecord> trials = {{json::object{{"x", 1}}, TrialState::Complete, 0.5},
                                     {json::object{{"x", 2}}, TrialState::Pruned, 0.1},
                                     {json::object{{"x", 3}}, TrialState::Complete, 0.3},
                                     {json::object{{"x", 4}}, TrialState::Pending, {}},
                                     {json::object{{"x", 5}}, TrialState::Complete, 0.3}};
  CHECK(best_trial(trials, Goal::Minimize) == std::optional<size_t>(2));
  CHECK(best_trial(trials, Goal::Maximize) == std::optional<size_t>(0));
  CHECK_FALSE(best_trial({trials[1], trials[3]}, Goal::Minimize));
}
