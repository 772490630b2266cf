// Reading a task's outputs file, storing artifacts by digest, tailing metrics.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <utility>
#include <vector>

#include <sys/stat.h>

#include "scheduler/common/sha256.hpp"
#include "scheduler/engine/results.hpp"

using namespace ctflow;
namespace fs = std::filesystem;

namespace {
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("ctflow-results-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(reinterpret_cast<uintptr_t>(this)));
    fs::create_directories(path / "work");
  }
  ~TempDir() { fs::remove_all(path); }
  void write(const std::string& rel, const std::string& text) const {
    std::ofstream(path / rel) << text;
  }
};
}  // namespace

TEST_CASE("outputs, artifacts by sha256 and registry ops are read", "[engine][results]") {
  TempDir d;
  d.write("work/model.bin", "weights");
  d.write(
      "outputs.json",
      R"({"outputs": {"acc": 0.99}, "artifacts": {"model": {"path": "model.bin", "kind": "model"}},
              "registry": [{"op": "register", "model": "m"}]})");
  auto r = engine::read_task_result((d.path / "outputs.json").string(), (d.path / "work").string(),
                                    (d.path / "store").string());
  REQUIRE(r.ok());
  CHECK(r->outputs.at("acc").as_double() == 0.99);
  REQUIRE(r->artifacts.size() == 1);
  CHECK(r->artifacts[0].digest == sha256_hex("weights"));
  CHECK(r->artifacts[0].size == 7);
  CHECK(fs::exists(r->artifacts[0].path));
  CHECK(r->registry.size() == 1);
}

TEST_CASE("a missing outputs file is empty outputs - bad ones name the field",
          "[engine][results]") {
  TempDir d;
  auto none = engine::read_task_result((d.path / "outputs.json").string(), "", "");
  REQUIRE(none.ok());
  CHECK(none->outputs.empty());

  d.write("outputs.json", "{not json");
  auto bad = engine::read_task_result((d.path / "outputs.json").string(), "", "");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().rfind("outputs file: invalid JSON", 0) == 0);

  d.write("outputs.json", R"({"artifacts": {"m": {"path": "nope.bin"}}})");
  auto missing = engine::read_task_result((d.path / "outputs.json").string(),
                                          (d.path / "work").string(), (d.path / "s").string());
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().find("artifacts.m") != std::string::npos);

  d.write("outputs.json", R"({"outptus": {}})");
  auto typo = engine::read_task_result((d.path / "outputs.json").string(), "", "");
  REQUIRE_FALSE(typo.ok());
  CHECK(typo.error().find("unknown field \"outptus\"") != std::string::npos);
}

TEST_CASE("an artifact must be a file inside the task folder with no symbolic link on the way",
          "[engine][results]") {
  TempDir d;
  d.write("secret", "admin token");  // beside the task's folder: the server may read it, a task not
  fs::create_directories(d.path / "work" / "sub");
  d.write("work/sub/ok.bin", "fine");
  fs::create_symlink(d.path / "secret", d.path / "work" / "link.bin");
  fs::create_directory_symlink(d.path, d.path / "work" / "up");
  ::mkfifo((d.path / "work" / "fifo").c_str(), 0600);
  const std::string work = (d.path / "work").string(), store = (d.path / "store").string();
  auto with = [&](const std::string& path) {
    d.write("outputs.json", R"({"artifacts": {"a": {"path": ")" + path + R"("}}})");
    return engine::read_task_result((d.path / "outputs.json").string(), work, store);
  };
  auto good = with(work + "/sub/ok.bin");  // absolute under the folder: fine
  REQUIRE(good.ok());
  CHECK(good->artifacts.at(0).digest == sha256_hex("fine"));
  CHECK(with("sub/../sub/ok.bin").ok());
  for (auto [path, why] : std::vector<std::pair<std::string, std::string>>{
           {"link.bin", "a symbolic link"},
           {"up/secret", "up is a symbolic link"},
           {"../secret", "outside the task's working directory"},
           {(d.path / "secret").string(), "outside the task's working directory"},
           {"/etc/passwd", "outside the task's working directory"},
           {"fifo", "not a regular file"},
           {"sub", "not a regular file"}}) {
    auto r = with(path);
    INFO(path);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().find("artifacts.a: ") != std::string::npos);
    CHECK(r.error().find(why) != std::string::npos);
  }
  // Nothing of the secret reached the store.
  CHECK_FALSE(fs::exists(fs::path(store) / "sha256" / sha256_hex("admin token").substr(0, 2)));
}

TEST_CASE("metrics are read line by line, leaving a partial line for later", "[engine][results]") {
  TempDir d;
  d.write("m.jsonl",
          "{\"name\": \"loss\", \"value\": 0.5, \"step\": 1}\nnot json\n{\"name\": \"loss\", "
          "\"value\": 0.4");
  int64_t off = 0;
  int skipped = 0;
  auto pts = engine::read_metrics((d.path / "m.jsonl").string(), off, &skipped);
  REQUIRE(pts.size() == 1);
  CHECK(pts[0].value == 0.5);
  CHECK(*pts[0].step == 1);
  CHECK(skipped == 1);
  std::ofstream((d.path / "m.jsonl"), std::ios::app) << ", \"step\": 2}\n";
  auto more = engine::read_metrics((d.path / "m.jsonl").string(), off, &skipped);
  REQUIRE(more.size() == 1);
  CHECK(more[0].value == 0.4);
}
