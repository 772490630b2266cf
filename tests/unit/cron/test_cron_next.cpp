// next_fire / prev_fire: DST rules, termination, speed, and next/prev consistency.
#include <catch2/catch.hpp>
#include <chrono>
#include <random>

#include "scheduler/cron/cron.hpp"

using namespace ctflow;
using namespace ctflow::cron;

namespace {

TimePoint at(const char* iso) {
  auto t = parse_iso8601(iso);
  REQUIRE(t);
  return *t;
}

CronExpr expr(const char* text) {
  auto e = parse_cron(text);
  REQUIRE(e);
  return *e;
}

TimeZone zone(const char* name) {
  auto z = TimeZone::load(name);
  REQUIRE(z);
  return *z;
}

}  // namespace

TEST_CASE("next_fire: Berlin 02:20 fires at 01:00Z on the spring-forward day", "[cron]") {
  auto fires = next_fires(expr("20 2 * * *"), zone("Europe/Berlin"), at("2026-03-28T00:00:00Z"), 3);
  REQUIRE(fires);
  CHECK(format_iso8601((*fires)[0]) == "2026-03-28T01:20:00Z");
  CHECK(format_iso8601((*fires)[1]) == "2026-03-29T01:00:00Z");
  CHECK(format_iso8601((*fires)[2]) == "2026-03-30T00:20:00Z");
}

TEST_CASE("fire_instant: unique, repeated (first occurrence) and skipped (transition)", "[cron]") {
  TimeZone ber = zone("Europe/Berlin");
  CHECK(format_iso8601(fire_instant(ber, cctz::civil_minute(2026, 6, 1, 12, 0))) ==
        "2026-06-01T10:00:00Z");
  CHECK(format_iso8601(fire_instant(ber, cctz::civil_minute(2026, 10, 25, 2, 30))) ==
        "2026-10-25T00:30:00Z");
  CHECK(format_iso8601(fire_instant(ber, cctz::civil_minute(2026, 3, 29, 2, 0))) ==
        "2026-03-29T01:00:00Z");
  CHECK(format_iso8601(fire_instant(ber, cctz::civil_minute(2026, 3, 29, 2, 59))) ==
        "2026-03-29T01:00:00Z");
}

TEST_CASE("next_fire: impossible expressions stop with an error, quickly", "[cron]") {
  auto start = std::chrono::steady_clock::now();
  auto r = next_fire(expr("0 0 30 2 *"), TimeZone::utc(), at("2026-01-01T00:00:00Z"));
  REQUIRE_FALSE(r);
  CHECK(r.error() == "no fire within 10 years after 2026-01-01T00:00:00Z");
  auto p = prev_fire(expr("0 0 31 4,6,9,11 *"), TimeZone::utc(), at("2026-01-01T00:00:00Z"));
  REQUIRE_FALSE(p);
  CHECK(p.error() == "no fire within 10 years before 2026-01-01T00:00:00Z");
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(200));
}

TEST_CASE("next_fire: no fire past year 9999", "[cron]") {
  auto r = next_fire(expr("0 0 1 1 *"), TimeZone::utc(), at("9999-06-01T00:00:00Z"));
  REQUIRE_FALSE(r);
  CHECK(r.error().find("no fire within") == 0);
}

TEST_CASE("next_fire: skips by day and hour, not by minute", "[cron]") {
  // 1,000 leap days span ~4,000 years; minute scanning would take hours.
  auto start = std::chrono::steady_clock::now();
  auto fires =
      next_fires(expr("0 0 29 2 *"), zone("America/New_York"), at("2026-01-01T00:00:00Z"), 1000);
  REQUIRE(fires);
  CHECK(format_iso8601(fires->back()).substr(0, 10) == "6148-02-29");
  auto minutes = next_fires(expr("* * * * *"), zone("Australia/Lord_Howe"),
                            at("2026-01-01T00:00:00Z"), 100000);
  REQUIRE(minutes);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
}

TEST_CASE("next_fire and prev_fire agree on random expressions and instants", "[cron]") {
  // For any t: n = next_fire(t) is the first fire after t, so prev_fire(n) <= t and
  // next_fire(prev_fire(n)) == n. Zones with 30-minute, 1-hour, 2-hour and 24-hour shifts.
  const char* zones[] = {"America/New_York", "Australia/Lord_Howe", "Antarctica/Troll",
                         "Pacific/Apia",     "Asia/Seoul",          "Europe/London"};
  const char* exprs[] = {
      "* * * * *",   "*/20 * * * *",   "30 2 * * *",   "0,30 1-3 * * *",           "15 0 * * *",
      "0 * * * sun", "0 0 1,15 * mon", "45 1 */2 * *", "*/7 2 * 3,4,9,10,11,12 *", "0 12 * * *"};
  std::mt19937_64 rng(20260329);
  // 1987 .. 2030, where these zones have transitions.
  std::uniform_int_distribution<int64_t> secs(536457600, 1893456000);
  for (int i = 0; i < 3000; ++i) {
    TimeZone tz = zone(zones[i % 6]);
    CronExpr e = expr(exprs[(i / 6) % 10]);
    TimePoint t(std::chrono::seconds(secs(rng)));
    INFO(e.text() << " in " << tz.name() << " after " << format_iso8601(t));
    auto n = next_fire(e, tz, t);
    REQUIRE(n);
    REQUIRE(*n > t);
    auto p = prev_fire(e, tz, *n);
    REQUIRE(p);
    CHECK(*p <= t);
    auto again = next_fire(e, tz, *p);
    REQUIRE(again);
    CHECK(*again == *n);
  }
}
