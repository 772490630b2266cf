#include <catch2/catch.hpp>

#include "scheduler/common/time_util.hpp"

using namespace ctflow;

TEST_CASE("durations parse with units and combinations", "[common]") {
  CHECK(parse_duration("2s")->count() == 2000);
  CHECK(parse_duration("500ms")->count() == 500);
  CHECK(parse_duration("1h30m")->count() == 5'400'000);
  CHECK(parse_duration("30")->count() == 30'000);
  CHECK_FALSE(parse_duration("2x"));
  CHECK_FALSE(parse_duration(""));
  CHECK_FALSE(parse_duration("s"));
  CHECK(format_duration(Millis(90'000)) == "90s");
  CHECK(format_duration(Millis(120'000)) == "2m");
}

TEST_CASE("ISO-8601 instants round-trip in UTC", "[common]") {
  auto t = parse_iso8601("2026-03-08T07:00:00Z");
  REQUIRE(t);
  CHECK(format_iso8601(*t) == "2026-03-08T07:00:00Z");
  auto o = parse_iso8601("2026-03-08T09:00:00+02:00");
  REQUIRE(o);
  CHECK(*o == *t);
  CHECK(format_iso8601(*parse_iso8601("2026-01-01")) == "2026-01-01T00:00:00Z");
  CHECK(format_iso8601(*parse_iso8601("2026-01-01T00:00:00.25Z")) == "2026-01-01T00:00:00.25Z");
  CHECK_FALSE(parse_iso8601("2026-02-30T00:00:00Z"));
  CHECK_FALSE(parse_iso8601("2026-01-01T00:00:00"));
  CHECK_FALSE(parse_iso8601("yesterday"));
}
