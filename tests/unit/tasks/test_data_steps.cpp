// extract, validate-data, transform and split on small generated data.
#include <catch2/catch.hpp>

#include <set>

#include "tasks/data/idx.hpp"
#include "tasks/data/source.hpp"
#include "tasks/data/steps.hpp"
#include "tests/unit/tasks/helpers.hpp"

using namespace ctflow;
using namespace ctflow::tasks;
using namespace ctflow::tasks::test;

namespace {

auto extract(std::string source, std::string until = "") {
  return [=](const TaskContext& c) { return run_extract(c, {source, until}); };
}
auto validate(ValidateDataOptions o = {}) {
  return [=](const TaskContext& c) { return run_validate_data(c, o); };
}

// Writes DIR/NAME/{images-idx3,labels-idx1}-ubyte.gz from synthetic digits (labels optional).
void write_partition(const std::string& dir, const std::string& name, int64_t n, uint64_t seed,
                     int bad_label = -1) {
  Dataset d = synthetic_digits(n, seed);
  if (bad_label >= 0 && n > 0) d.labels[n / 2] = static_cast<uint8_t>(bad_label);
  std::filesystem::create_directories(dir + "/" + name);
  IdxImages im{n, 28, 28, d.pixels_u8};
  REQUIRE(write_idx_images(dir + "/" + name + "/images-idx3-ubyte.gz", im, true));
  REQUIRE(write_idx_labels(dir + "/" + name + "/labels-idx1-ubyte.gz", d.labels, true));
}

void write_test_set(const std::string& dir) {
  Dataset d = synthetic_digits(50, 99);
  REQUIRE(write_idx_images(dir + "/t10k-images-idx3-ubyte", {50, 28, 28, d.pixels_u8}, false));
  REQUIRE(write_idx_labels(dir + "/t10k-labels-idx1-ubyte", d.labels, false));
}

}  // namespace

TEST_CASE("extract takes the partitions up to the logical date, with stable digests",
          "[tasks][extract]") {
  TempDir t;
  Pipeline a(t / "a"), b(t / "b");
  auto ra = a.step("extract",
                   extract("synthetic://digits?n=300&seed=3&partitions=3", "2025-02-15T00:00:00Z"));
  REQUIRE(ra);
  const auto& parts = ra->outputs.at("partitions").as_array();
  REQUIRE(parts.size() == 2);
  CHECK(parts[0].at("name").as_string() == "2025-01");
  CHECK(parts[1].at("name").as_string() == "2025-02");
  CHECK(ra->outputs.at("count").as_int64() == 200);
  CHECK(ra->outputs.at("total_partitions").as_int64() == 3);
  auto rb = b.step("extract", extract("synthetic://digits?n=300&seed=3&partitions=3"));
  REQUIRE(rb);
  CHECK(rb->outputs.at("partitions").as_array().size() == 3);
  CHECK(rb->outputs.at("partitions").as_array()[1].at("digest") == parts[1].at("digest"));
  auto other = Pipeline(t / "c").step("extract", extract("synthetic://digits?n=300&seed=4"));
  REQUIRE(other);
  CHECK(other->outputs.at("partitions").as_array()[0].at("digest") != parts[0].at("digest"));
}

TEST_CASE("extract rejects unknown sources and dates before the first partition",
          "[tasks][extract]") {
  TempDir t;
  Pipeline p(t.path());
  auto r = p.step("x", extract("ftp://nowhere"));
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error(), Catch::Contains("unknown scheme"));
  r = p.step("y", extract("synthetic://digits?n=30", "2020-01-01T00:00:00Z"));
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error(), Catch::Contains("no partition"));
}

TEST_CASE("mnist:// reads partition directories - validate-data passes clean data",
          "[tasks][extract][validate-data]") {
  TempDir t;
  write_partition(t / "src", "2025-01", 120, 1);
  write_partition(t / "src", "2025-02", 120, 2);
  write_partition(t / "src", "2025-04", 120, 3);
  write_test_set(t / "src");
  Pipeline p(t / "run");
  auto ex = p.step("extract", extract("mnist://" + (t / "src"), "2025-03-01T00:00:00Z"));
  REQUIRE(ex);
  CHECK(ex->outputs.at("count").as_int64() == 240);
  CHECK(ex->outputs.at("test_count").as_int64() == 50);
  auto v = p.step("validate-data", validate());
  REQUIRE(v);
  CHECK(v->outputs.at("valid").as_bool());
  CHECK(v->outputs.at("duplicates").as_int64() == 0);
  CHECK(std::filesystem::exists(p.dir("validate-data") + "/data-report.json"));
}

TEST_CASE("validate-data fails on an empty partition and on label 11", "[tasks][validate-data]") {
  TempDir t;
  write_partition(t / "empty", "2025-01", 100, 1);
  write_partition(t / "empty", "2025-02", 0, 2);
  write_test_set(t / "empty");
  Pipeline p(t / "run1");
  REQUIRE(p.step("extract", extract("mnist://" + (t / "empty"))));
  auto v = p.step("validate-data", validate());
  REQUIRE_FALSE(v);
  CHECK_THAT(v.error(), Catch::Contains("partition 2025-02 is empty"));

  write_partition(t / "label11", "2025-01", 100, 1, /*bad_label=*/11);
  write_test_set(t / "label11");
  Pipeline q(t / "run2");
  REQUIRE(q.step("extract", extract("mnist://" + (t / "label11"))));
  v = q.step("validate-data", validate());
  REQUIRE_FALSE(v);
  CHECK_THAT(v.error(), Catch::Contains("label 11 at sample 50"));
  CHECK(v.error().find('\n') == std::string::npos);
}

TEST_CASE("validate-data reports drift of an inverted partition - --max-psi makes it fail",
          "[tasks][validate-data]") {
  TempDir t;
  Pipeline p(t.path());
  REQUIRE(p.step("extract", extract("synthetic://digits?n=300&seed=5&partitions=3&drift=invert")));
  auto v = p.step("validate-data", validate());
  REQUIRE(v);
  CHECK(v->outputs.at("max_psi").as_double() > 1.0);
  CHECK(v->outputs.at("warnings").as_array().size() >= 1);
  ValidateDataOptions strict;
  strict.max_psi = 0.25;
  auto f = p.step("validate-strict", validate(strict));
  REQUIRE_FALSE(f);
  CHECK_THAT(f.error(), Catch::Contains("partition 2025-03 drifted"));
}

TEST_CASE("transform scales to [0,1] and records the statistics - split is stratified and seeded",
          "[tasks][transform][split]") {
  TempDir t;
  Pipeline p(t.path());
  REQUIRE(p.step("extract", extract("synthetic://digits?n=400&seed=2")));
  auto tr = p.step("transform", [](const TaskContext& c) { return run_transform(c, {}); });
  REQUIRE(tr);
  const double mean = tr->outputs.at("mean").as_double();
  CHECK(mean > 0.05);
  CHECK(mean < 0.5);
  auto d = read_dataset(p.dir("transform") + "/dataset.ctds");
  REQUIRE(d);
  CHECK(d->is_float);
  double sum = 0;
  float lo = 1, hi = 0;
  for (float v : d->pixels_f32) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    sum += v;
  }
  CHECK(lo >= 0.0f);
  CHECK(hi <= 1.0f);
  CHECK(sum / static_cast<double>(d->pixels_f32.size()) == Approx(mean).epsilon(1e-4));

  auto split = [](uint64_t seed) {
    return [seed](const TaskContext& c) { return run_split(c, {0.2, seed}); };
  };
  auto s1 = p.step("split", split(1));
  REQUIRE(s1);
  auto doc1 = read_json_object(p.dir("split") + "/split.json");
  REQUIRE(doc1);
  CHECK(s1->outputs.at("val_count").as_int64() == 80);  // 40 per class -> 8 per class
  std::set<int64_t> val, train;
  std::vector<int> per_class(10, 0);
  for (const auto& v : doc1->at("val").as_array()) {
    val.insert(v.as_int64());
    per_class[d->labels[v.as_int64()]]++;
  }
  for (const auto& v : doc1->at("train").as_array()) train.insert(v.as_int64());
  CHECK(val.size() + train.size() == 400);
  for (int64_t v : val) CHECK(train.count(v) == 0);
  for (int c = 0; c < 10; ++c) CHECK(per_class[c] == 8);
  REQUIRE(p.step("split-again", split(1)));
  REQUIRE(p.step("split-other", split(2)));
  auto again = read_json_object(p.dir("split-again") + "/split.json");
  auto other = read_json_object(p.dir("split-other") + "/split.json");
  CHECK(again->at("val") == doc1->at("val"));
  CHECK(other->at("val") != doc1->at("val"));
}

TEST_CASE("drift=invert: the test set follows once the shifted partition has arrived",
          "[tasks][source]") {
  const std::string uri = "synthetic://digits?n=300&seed=5&partitions=3&drift=invert&test=20";
  auto before = load_source(uri, ctflow::parse_iso8601("2025-02-15T00:00:00Z"));
  auto after = load_source(uri, ctflow::parse_iso8601("2025-03-15T00:00:00Z"));
  REQUIRE(before);
  REQUIRE(after);
  CHECK(before->train.partitions.size() == 2);
  CHECK(after->train.partitions.size() == 3);
  REQUIRE(before->test.size() == after->test.size());
  // Even test images are unchanged, odd ones inverted, labels kept.
  CHECK(before->test.labels == after->test.labels);
  for (int64_t k = 0; k < 784; ++k) {
    CHECK(after->test.pixels_u8[k] == before->test.pixels_u8[k]);
    CHECK(after->test.pixels_u8[784 + k] == 255 - before->test.pixels_u8[784 + k]);
  }
}
