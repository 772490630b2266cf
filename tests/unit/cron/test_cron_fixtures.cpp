// Runs every case of tests/testdata/cron/cases.json (expected values from gen.py, an
// independent Python zoneinfo brute force) through next_fires, prev_fire and `cron next`.
#include <catch2/catch.hpp>
#include <sstream>

#include "scheduler/common/json_util.hpp"
#include "scheduler/cron/cron.hpp"
#include "scheduler/cron/cron_command.hpp"

using namespace ctflow;
using namespace ctflow::cron;

namespace {

json::array load_cases(const char* file) {
  auto text = read_file(std::string(CTFLOW_SOURCE_DIR) + "/tests/testdata/cron/" + file);
  REQUIRE(text);
  return json::parse(*text).as_object().at("cases").as_array();
}

std::string str(const json::value& v) {
  return std::string(v.as_string());
}

}  // namespace

TEST_CASE("cron fixtures: next 5 fires match the independent oracle", "[cron][fixtures]") {
  const json::array cases = load_cases("cases.json");
  REQUIRE(cases.size() >= 80);
  for (const json::value& cv : cases) {
    const json::object& c = cv.as_object();
    const std::string name = str(c.at("name")), expr = str(c.at("expr")), tz = str(c.at("tz"));
    const std::string from_text = str(c.at("from"));
    INFO("case " << name << ": \"" << expr << "\" in " << tz << " after " << from_text);
    auto cron = parse_cron(expr);
    REQUIRE(cron);
    auto zone = TimeZone::load(tz);
    REQUIRE(zone);
    auto from = parse_iso8601(from_text);
    REQUIRE(from);

    std::ostringstream out, err;
    int rc = cron_next_main(expr, tz, from_text, 5, out, err);
    auto fires = next_fires(*cron, *zone, *from, 5);
    if (c.contains("never")) {
      REQUIRE_FALSE(fires);
      CHECK(fires.error().find("no fire within 10 years after") == 0);
      CHECK(rc == 2);
      CHECK(out.str().empty());
      continue;
    }
    REQUIRE(fires);
    std::vector<std::string> got, want;
    for (TimePoint t : *fires) got.push_back(format_iso8601(t));
    for (const json::value& w : c.at("next").as_array()) want.push_back(str(w));
    CHECK(got == want);

    std::string expected_out;
    for (const auto& w : want) expected_out += w + "\n";
    CHECK(rc == 0);
    CHECK(out.str() == expected_out);
    CHECK(err.str().empty());

    // prev_fire walks the same fires backwards.
    for (size_t i = 1; i < fires->size(); ++i) {
      auto p = prev_fire(*cron, *zone, (*fires)[i]);
      REQUIRE(p);
      CHECK(format_iso8601(*p) == want[i - 1]);
    }
    auto p0 = prev_fire(*cron, *zone, fires->front());
    if (p0) CHECK(*p0 <= *from);
  }
}

TEST_CASE("cron fixtures: bad expressions give the documented one-line error", "[cron][fixtures]") {
  for (const json::value& cv : load_cases("parse_errors.json")) {
    const std::string expr = str(cv.as_object().at("expr"));
    const std::string want = str(cv.as_object().at("error"));
    INFO("expression \"" << expr << "\"");
    auto r = parse_cron(expr);
    REQUIRE_FALSE(r);
    CHECK(r.error() == want);
    CHECK(r.error().find('\n') == std::string::npos);

    std::ostringstream out, err;
    CHECK(cron_next_main(expr, "UTC", std::string("2026-01-01T00:00:00Z"), 5, out, err) == 2);
    CHECK(out.str().empty());
    CHECK(err.str() == "error: cron expression: " + want + "\n");
  }
}
