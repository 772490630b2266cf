#include <catch2/catch.hpp>

#include <fstream>

#include "tasks/data/dataset.hpp"
#include "tasks/data/idx.hpp"
#include "tests/unit/tasks/helpers.hpp"

using namespace ctflow;
using namespace ctflow::tasks;
using ctflow::tasks::test::TempDir;

static IdxImages tiny_images(int64_t n) {
  IdxImages im;
  im.count = n;
  im.rows = 4;
  im.cols = 3;
  for (int64_t i = 0; i < n * 12; ++i) im.pixels.push_back(static_cast<uint8_t>(i * 7));
  return im;
}

TEST_CASE("idx images and labels round-trip raw and gzip", "[tasks][idx]") {
  TempDir t;
  for (bool gz : {false, true}) {
    const std::string ip = t / (gz ? "im.gz" : "im"), lp = t / (gz ? "lb.gz" : "lb");
    REQUIRE(write_idx_images(ip, tiny_images(5), gz));
    REQUIRE(write_idx_labels(lp, {0, 1, 2, 9, 3}, gz));
    auto im = read_idx_images(ip);
    REQUIRE(im);
    CHECK(im->count == 5);
    CHECK(im->rows == 4);
    CHECK(im->cols == 3);
    CHECK(im->pixels == tiny_images(5).pixels);
    auto lb = read_idx_labels(lp);
    REQUIRE(lb);
    CHECK(*lb == std::vector<uint8_t>{0, 1, 2, 9, 3});
  }
}

TEST_CASE("the shared MNIST test set (gzip) reads as 10000 28x28 images", "[tasks][idx]") {
  const std::string dir = std::string(CTFLOW_SOURCE_DIR) + "/../shared/data/mnist";
  auto im = read_idx_images(find_idx(dir, "t10k-images-idx3-ubyte"));
  REQUIRE(im);
  CHECK(im->count == 10000);
  CHECK(im->rows == 28);
  CHECK(im->cols == 28);
  auto lb = read_idx_labels(find_idx(dir, "t10k-labels-idx1-ubyte"));
  REQUIRE(lb);
  REQUIRE(lb->size() == 10000);
  std::vector<int> per(10, 0);
  for (uint8_t l : *lb) per.at(l)++;
  CHECK(per[1] == 1135);  // the published class count of digit 1 in t10k
}

TEST_CASE("a truncated idx file is an error naming the shortfall", "[tasks][idx]") {
  TempDir t;
  REQUIRE(write_idx_images(t / "im", tiny_images(5), false));
  std::filesystem::resize_file(t / "im", 16 + 5 * 12 - 7);
  auto im = read_idx_images(t / "im");
  REQUIRE_FALSE(im);
  CHECK_THAT(im.error(), Catch::Contains("truncated"));
  // A gzip stream cut in the middle.
  REQUIRE(write_idx_images(t / "im.gz", tiny_images(200), true));
  auto size = std::filesystem::file_size(t / "im.gz");
  std::filesystem::resize_file(t / "im.gz", size / 2);
  CHECK_FALSE(read_idx_images(t / "im.gz"));
}

TEST_CASE("wrong magic and trailing bytes are rejected", "[tasks][idx]") {
  TempDir t;
  REQUIRE(write_idx_labels(t / "lb", {1, 2, 3}, false));
  auto as_images = read_idx_images(t / "lb");
  REQUIRE_FALSE(as_images);
  CHECK_THAT(as_images.error(), Catch::Contains("wrong magic 0x00000801"));
  std::ofstream(t / "lb", std::ios::app) << "xx";
  auto lb = read_idx_labels(t / "lb");
  REQUIRE_FALSE(lb);
  CHECK_THAT(lb.error(), Catch::Contains("trailing"));
}

TEST_CASE("dataset files round-trip and reject a wrong size", "[tasks][dataset]") {
  TempDir t;
  Dataset d;
  d.rows = 2;
  d.cols = 2;
  d.is_float = true;
  d.pixels_f32 = {0, 0.5f, 1, 0.25f, 0.1f, 0.2f, 0.3f, 0.4f};
  d.labels = {3, 4};
  d.ids = {10, 11};
  d.partition = {0, 1};
  d.partitions = {{"2025-01", "aa", 1}, {"2025-02", "bb", 1}};
  d.meta["normalisation"] = json::object{{"mean", 0.5}};
  REQUIRE(write_dataset(t / "d.ctds", d));
  auto r = read_dataset(t / "d.ctds");
  REQUIRE(r);
  CHECK(r->pixels_f32 == d.pixels_f32);
  CHECK(r->ids == d.ids);
  CHECK(r->partitions.at(1).name == "2025-02");
  CHECK(r->subset({1}).labels == std::vector<uint8_t>{4});
  std::filesystem::resize_file(t / "d.ctds", std::filesystem::file_size(t / "d.ctds") - 1);
  auto bad = read_dataset(t / "d.ctds");
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error(), Catch::Contains("truncated or corrupt"));
}
