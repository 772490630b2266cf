// Spec fixtures as data: every file in tests/testdata/specs/valid/ (and examples/) must parse;
// every file in invalid/ must fail with exactly the lines of its .errors file (as a set). A new
// case is a new file. Cases too big to commit (a spec over 8 MiB, too many tasks) are generated.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "scheduler/spec/parse.hpp"

namespace fs = std::filesystem;
using ctflow::spec::parse_pipeline;

namespace {

const fs::path kSpecs = fs::path(CTFLOW_SOURCE_DIR) / "tests/testdata/specs";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<fs::path> specs_in(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    auto ext = e.path().extension();
    if (ext == ".yaml" || ext == ".yml" || ext == ".json") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::set<std::string> lines_of(const std::string& text) {
  std::set<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.insert(line);
  return lines;
}

std::string join(const std::set<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += "  " + l + "\n";
  return out.empty() ? "  (none)\n" : out;
}

}  // namespace

TEST_CASE("valid spec fixtures and examples parse without errors", "[spec][fixtures]") {
  std::vector<fs::path> files = specs_in(kSpecs / "valid");
  REQUIRE(files.size() >= 4);
  for (const auto& f : specs_in(fs::path(CTFLOW_SOURCE_DIR) / "examples")) files.push_back(f);
  for (const auto& f : files) {
    auto r = parse_pipeline(slurp(f));
    INFO(f.string() << " errors:\n" << join({r.errors.begin(), r.errors.end()}));
    CHECK(r.errors.empty());
    CHECK(r.pipeline.has_value());
  }
}

TEST_CASE("invalid spec fixtures fail with exactly their expected errors", "[spec][fixtures]") {
  std::vector<fs::path> files = specs_in(kSpecs / "invalid");
  REQUIRE(files.size() >= 30);
  for (const auto& f : files) {
    fs::path expected_file = fs::path(f).replace_extension(".errors");
    INFO(f.string());
    REQUIRE(fs::exists(expected_file));
    std::set<std::string> expected = lines_of(slurp(expected_file));
    REQUIRE(!expected.empty());
    auto r = parse_pipeline(slurp(f));
    std::set<std::string> got(r.errors.begin(), r.errors.end());
    std::set<std::string> missing, unexpected;
    std::set_difference(expected.begin(), expected.end(), got.begin(), got.end(),
                        std::inserter(missing, missing.end()));
    std::set_difference(got.begin(), got.end(), expected.begin(), expected.end(),
                        std::inserter(unexpected, unexpected.end()));
    INFO("missing:\n" << join(missing) << "unexpected:\n" << join(unexpected));
    CHECK(missing.empty());
    CHECK(unexpected.empty());
    CHECK(!r.pipeline.has_value());
  }
}

TEST_CASE("a spec over kMaxSpecBytes is refused before parsing", "[spec][fixtures]") {
  std::string text = "name: big\ndescription: \"" + std::string(ctflow::spec::kMaxSpecBytes, 'x') +
                     "\"\ntasks: [{name: a, run: [echo]}]\n";
  auto r = parse_pipeline(text);
  CHECK_FALSE(r.pipeline);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0] ==
        "spec: " + std::to_string(text.size()) + " bytes, over the limit of 8388608 bytes (8 MiB)");
}

TEST_CASE("a spec with more than kMaxTasks tasks is refused", "[spec][fixtures]") {
  std::string text = "name: many\ntasks:\n";
  for (size_t i = 0; i <= ctflow::spec::kMaxTasks; ++i)
    text += "- {name: t" + std::to_string(i) + ", run: [true]}\n";
  REQUIRE(text.size() < ctflow::spec::kMaxSpecBytes);
  auto r = parse_pipeline(text);
  CHECK_FALSE(r.pipeline);
  CHECK(r.errors == std::vector<std::string>{"tasks: 100001 tasks, over the limit of 100000"});
}
