// The real ctflow-task binary, each run a separate process as under the engine: corrupt inputs
// end with exit 1 and a one-line reason on stderr (never a crash or a hang), a seed gives a
// bitwise identical model file, and another process loads that model with torch::jit::load.
#include <catch2/catch.hpp>

#include "scheduler/common/sha256.hpp"
#include "tasks/data/idx.hpp"
#include "tasks/data/source.hpp"
#include "tasks/data/steps.hpp"
#include "tests/unit/tasks/helpers.hpp"

using namespace ctflow;
using namespace ctflow::tasks;
using namespace ctflow::tasks::test;

namespace {

// Asserts the contract for a failure: exit code 1, last stderr line names the subcommand and
// contains `reason`.
void check_failure(const Exit& e, const std::string& cmd, const std::string& reason) {
  INFO(e.err);
  CHECK(e.code == 1);
  const std::string line = last_line(e.err);
  CHECK_THAT(line, Catch::StartsWith("ctflow-task " + cmd + ": "));
  CHECK_THAT(line, Catch::Contains(reason));
}

void write_mnist_dir(const std::string& dir, int64_t n) {
  std::filesystem::create_directories(dir);
  Dataset d = synthetic_digits(n, 5);
  REQUIRE(write_idx_images(dir + "/train-images-idx3-ubyte.gz", {n, 28, 28, d.pixels_u8}, true));
  REQUIRE(write_idx_labels(dir + "/train-labels-idx1-ubyte.gz", d.labels, true));
  REQUIRE(write_idx_images(dir + "/t10k-images-idx3-ubyte", {n, 28, 28, d.pixels_u8}, false));
  REQUIRE(write_idx_labels(dir + "/t10k-labels-idx1-ubyte", d.labels, false));
}

}  // namespace

TEST_CASE("extract: a truncated or wrong-magic idx file fails with one line", "[tasks][cli]") {
  TempDir t;
  write_mnist_dir(t / "trunc", 40);
  std::filesystem::resize_file(t / "trunc/t10k-images-idx3-ubyte", 16 + 784 * 40 - 100);
  check_failure(run_binary(t.path(), "extract --source mnist://" + (t / "trunc")), "extract",
                "truncated");

  write_mnist_dir(t / "magic", 40);
  std::filesystem::copy_file(t / "magic/t10k-labels-idx1-ubyte", t / "magic/t10k-images-idx3-ubyte",
                             std::filesystem::copy_options::overwrite_existing);
  check_failure(run_binary(t.path(), "extract --source mnist://" + (t / "magic")), "extract",
                "wrong magic");
}

TEST_CASE("validate-data: label 11 and an empty partition fail with one line", "[tasks][cli]") {
  TempDir t;
  Dataset d = synthetic_digits(60, 1);
  d.partitions = {{"2025-01", "x", 60}, {"2025-02", "y", 0}};
  REQUIRE(write_dataset(t / "test.ctds", d));
  REQUIRE(write_dataset(t / "empty.ctds", d));
  check_failure(
      run_binary(t.path(), "validate-data --input raw=empty.ctds --input raw-test=test.ctds"),
      "validate-data", "partition 2025-02 is empty");
  d.partitions = {{"2025-01", "x", 60}};
  d.labels[7] = 11;
  REQUIRE(write_dataset(t / "label11.ctds", d));
  check_failure(
      run_binary(t.path(), "validate-data --input raw=label11.ctds --input raw-test=test.ctds"),
      "validate-data", "label 11 at sample 7");
}

TEST_CASE("train: NaN loss and bad inputs fail with one line - bad flags exit 2", "[tasks][cli]") {
  TempDir t;
  Dataset d = synthetic_digits(40, 1);
  d.partitions = {{"2025-01", "x", 40}};
  Dataset f = d;
  f.is_float = true;
  f.pixels_f32.assign(d.pixels_u8.size(), std::nanf(""));
  f.pixels_u8.clear();
  REQUIRE(write_dataset(t / "nan.ctds", f));
  json::array train, val;
  for (int i = 0; i < 40; ++i) (i % 5 ? train : val).push_back(i);
  REQUIRE(write_json(t / "split.json", json::object{{"n", 40}, {"train", train}, {"val", val}}));
  check_failure(
      run_binary(t.path(), "train --epochs 1 --input dataset=nan.ctds --input split=split.json"),
      "train", "loss is NaN");
  check_failure(run_binary(t.path(), "train --input dataset=split.json --input split=split.json"),
                "train", "bad magic");
  CHECK(run_binary(t.path(), "train --epochs notanumber").code == 2);
  CHECK(run_binary(t.path(), "no-such-command").code == 2);
}

TEST_CASE("a seed gives the same model file - another process loads it", "[tasks][cli]") {
  TempDir t;
  Pipeline p(t / "prep");
  REQUIRE(p.step("extract", [](const TaskContext& c) {
    return run_extract(c, {"synthetic://digits?n=200&seed=3", ""});
  }));
  REQUIRE(p.step("transform", [](const TaskContext& c) { return run_transform(c, {}); }));
  REQUIRE(p.step("split", [](const TaskContext& c) { return run_split(c, {0.2, 1}); }));
  const std::string data = "--input dataset=" + p.dir("transform") + "/dataset.ctds ";
  const std::string args = "train --epochs 1 --batch-size 32 --dim 8 --seed 4 " + data +
                           "--input split=" + p.dir("split") + "/split.json";
  for (const char* d : {"a", "b"}) {
    std::filesystem::create_directories(t / d);
    Exit e = run_binary(t / d, args, "CTFLOW_OUTPUTS=out.json CTFLOW_METRICS=metrics.jsonl");
    INFO(e.err);
    REQUIRE(e.code == 0);
  }
  auto a = sha256_file(t / "a/model.pt"), b = sha256_file(t / "b/model.pt");
  REQUIRE(a);
  CHECK(a == b);
  auto out = read_json_object(t / "a/out.json");
  REQUIRE(out);
  CHECK(out->at("artifacts").at("model").at("kind") == "model");

  Exit e = run_binary(t / "a",
                      "evaluate --k 3 " + data + "--input testset=" + p.dir("transform") +
                          "/testset.ctds --input model=model.pt",
                      "CTFLOW_OUTPUTS=eval.json");
  INFO(e.err);
  REQUIRE(e.code == 0);
  auto ev = read_json_object(t / "a/eval.json");
  REQUIRE(ev);
  CHECK(ev->at("outputs").at("accuracy").as_double() > 0.5);
}
