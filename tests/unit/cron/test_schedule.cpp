// due_fires (catch-up policies, windows, caps), data intervals and backfill ranges.
#include <catch2/catch.hpp>

#include "scheduler/cron/schedule.hpp"

using namespace ctflow;
using namespace ctflow::cron;
using namespace std::chrono_literals;

namespace {

TimePoint at(const char* iso) {
  auto t = parse_iso8601(iso);
  REQUIRE(t);
  return *t;
}

Schedule every_minute(Catchup c) {
  Schedule s;
  s.cron = *parse_cron("* * * * *");
  s.catchup = c;
  return s;
}

std::vector<std::string> dates(const std::vector<Fire>& fires) {
  std::vector<std::string> out;
  for (const Fire& f : fires) out.push_back(format_iso8601(f.logical_date));
  return out;
}

}  // namespace

TEST_CASE("due_fires: all returns every missed fire in order, capped", "[cron][schedule]") {
  // Down for 3 hours: last fire 09:00, now 12:00:30 -> 180 fires 09:01 .. 12:00.
  Schedule s = every_minute(Catchup::all);
  auto due = due_fires(s, at("2026-03-01T09:00:00Z"), at("2026-03-01T12:00:30Z"), 500);
  REQUIRE(due.fires.size() == 180);
  CHECK_FALSE(due.more);
  CHECK(format_iso8601(due.fires.front().logical_date) == "2026-03-01T09:01:00Z");
  CHECK(format_iso8601(due.fires.back().logical_date) == "2026-03-01T12:00:00Z");
  for (size_t i = 1; i < due.fires.size(); ++i)
    CHECK(due.fires[i].logical_date - due.fires[i - 1].logical_date == 1min);
  CHECK(format_iso8601(*due.next_fire) == "2026-03-01T12:01:00Z");

  // With a cap of 100: the first 100, `more`, and the rest after the caller records them.
  auto first = due_fires(s, at("2026-03-01T09:00:00Z"), at("2026-03-01T12:00:30Z"), 100);
  REQUIRE(first.fires.size() == 100);
  CHECK(first.more);
  auto rest = due_fires(s, first.fires.back().logical_date, at("2026-03-01T12:00:30Z"), 100);
  CHECK(rest.fires.size() == 80);
  CHECK_FALSE(rest.more);
}

TEST_CASE("due_fires: latest returns only the most recent fire", "[cron][schedule]") {
  Schedule s = every_minute(Catchup::latest);
  auto due = due_fires(s, at("2026-03-01T09:00:00Z"), at("2026-03-01T12:00:30Z"));
  CHECK(dates(due.fires) == std::vector<std::string>{"2026-03-01T12:00:00Z"});
  // Nothing new since the last fire: nothing due.
  CHECK(due_fires(s, at("2026-03-01T12:00:00Z"), at("2026-03-01T12:00:30Z")).fires.empty());
}

TEST_CASE("due_fires: none skips missed fires, keeps the one due within grace",
          "[cron][schedule]") {
  Schedule s = every_minute(Catchup::none);
  s.grace = 10s;
  // Restart 30 s after the latest fire: that fire is missed too.
  CHECK(due_fires(s, at("2026-03-01T09:00:00Z"), at("2026-03-01T12:00:30Z")).fires.empty());
  // Woken 2 s after a fire: it is due now.
  auto due = due_fires(s, at("2026-03-01T09:00:00Z"), at("2026-03-01T12:00:02Z"));
  CHECK(dates(due.fires) == std::vector<std::string>{"2026-03-01T12:00:00Z"});
  // Exactly at the fire instant, and already fired.
  CHECK(due_fires(s, at("2026-03-01T11:59:00Z"), at("2026-03-01T12:00:00Z")).fires.size() == 1);
  CHECK(due_fires(s, at("2026-03-01T12:00:00Z"), at("2026-03-01T12:00:05Z")).fires.empty());
}

TEST_CASE("due_fires: start and end bound the window", "[cron][schedule]") {
  Schedule s;
  s.cron = *parse_cron("0 * * * *");
  s.catchup = Catchup::all;
  s.start = at("2026-03-01T10:00:00Z");  // inclusive
  s.end = at("2026-03-01T13:00:00Z");    // inclusive
  auto due = due_fires(s, std::nullopt, at("2026-03-02T00:00:00Z"));
  CHECK(dates(due.fires) == std::vector<std::string>{"2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z",
                                                     "2026-03-01T12:00:00Z",
                                                     "2026-03-01T13:00:00Z"});
  CHECK_FALSE(due.next_fire);  // ended
  s.catchup = Catchup::latest;
  CHECK(dates(due_fires(s, std::nullopt, at("2026-03-02T00:00:00Z")).fires) ==
        std::vector<std::string>{"2026-03-01T13:00:00Z"});
  // Before start: nothing yet, and the next wake-up is the start.
  auto early = due_fires(s, std::nullopt, at("2026-03-01T08:30:00Z"));
  CHECK(early.fires.empty());
  CHECK(format_iso8601(*early.next_fire) == "2026-03-01T09:00:00Z");
  s.catchup = Catchup::none;
  CHECK(due_fires(s, std::nullopt, at("2026-03-01T09:00:01Z")).fires.empty());  // before start
  CHECK(due_fires(s, std::nullopt, at("2026-03-01T14:00:01Z")).fires.empty());  // after end
  CHECK(due_fires(s, std::nullopt, at("2026-03-01T11:00:01Z")).fires.size() == 1);
}

TEST_CASE("due_fires: no history and no start behaves like none", "[cron][schedule]") {
  Schedule s = every_minute(Catchup::all);
  CHECK(due_fires(s, std::nullopt, at("2026-03-01T12:00:30Z")).fires.size() == 1);
  CHECK(due_fires(s, std::nullopt, at("2026-03-01T12:01:30Z"), 100).fires.size() == 1);
  s.grace = 5s;
  CHECK(due_fires(s, std::nullopt, at("2026-03-01T12:00:30Z")).fires.empty());
}

TEST_CASE("due_fires: catch-up across a DST gap fires once for the gap", "[cron][schedule]") {
  Schedule s;
  s.cron = *parse_cron("*/30 2 * * *");
  s.tz = *TimeZone::load("America/New_York");
  s.catchup = Catchup::all;
  auto due = due_fires(s, at("2026-03-07T07:30:00Z"), at("2026-03-09T12:00:00Z"));
  CHECK(dates(due.fires) == std::vector<std::string>{"2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z",
                                                     "2026-03-09T06:30:00Z"});
}

TEST_CASE("make_fire: data interval is [previous fire, this fire]", "[cron][schedule]") {
  auto cron = *parse_cron("0 3 * * *");
  auto seoul = *TimeZone::load("Asia/Seoul");
  Fire f = make_fire(cron, seoul, at("2026-03-07T18:00:00Z"));
  CHECK(format_iso8601(f.data_interval_start) == "2026-03-06T18:00:00Z");
  CHECK(f.data_interval_end == f.logical_date);
  // Across a spring-forward the interval is one hour shorter.
  auto ber = *TimeZone::load("Europe/Berlin");
  Fire g = make_fire(*parse_cron("20 2 * * *"), ber, at("2026-03-29T01:00:00Z"));
  CHECK(format_iso8601(g.data_interval_start) == "2026-03-28T01:20:00Z");
}

TEST_CASE("fires_between: inclusive range, ordered, bounded", "[cron][schedule]") {
  auto cron = *parse_cron("0 0 * * *");
  auto r =
      fires_between(cron, TimeZone::utc(), at("2026-03-01T00:00:00Z"), at("2026-03-04T00:00:00Z"));
  REQUIRE(r);
  CHECK(dates(*r) == std::vector<std::string>{"2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z",
                                              "2026-03-03T00:00:00Z", "2026-03-04T00:00:00Z"});
  CHECK(format_iso8601((*r)[0].data_interval_start) == "2026-02-28T00:00:00Z");
  auto too_many = fires_between(cron, TimeZone::utc(), at("2026-01-01T00:00:00Z"),
                                at("2026-12-31T00:00:00Z"), 100);
  REQUIRE_FALSE(too_many);
  CHECK(too_many.error().find("holds more than 100 fires") != std::string::npos);
  auto reversed =
      fires_between(cron, TimeZone::utc(), at("2026-03-04T00:00:00Z"), at("2026-03-01T00:00:00Z"));
  REQUIRE_FALSE(reversed);
  CHECK(reversed.error() == "range: from 2026-03-04T00:00:00Z is after to 2026-03-01T00:00:00Z");
}

TEST_CASE("catchup names round-trip", "[cron][schedule]") {
  for (Catchup c : {Catchup::all, Catchup::latest, Catchup::none})
    CHECK(parse_catchup(to_string(c)) == c);
  CHECK_FALSE(parse_catchup("ALL"));
  CHECK_FALSE(parse_catchup(""));
}

TEST_CASE("make_schedule: builds from text, errors name the field", "[cron][schedule]") {
  auto s = make_schedule("0 3 * * *", "Asia/Seoul", "latest", std::nullopt, std::nullopt);
  REQUIRE(s);
  CHECK(s->catchup == Catchup::latest);
  CHECK(s->tz.name() == "Asia/Seoul");
  CHECK(make_schedule("0 3 * *", "UTC", "all", std::nullopt, std::nullopt).error() ==
        "cron: expected 5 fields (minute hour day-of-month month day-of-week), got 4");
  CHECK(make_schedule("0 3 * * *", "Asia/Busan", "all", std::nullopt, std::nullopt).error() ==
        "timezone: unknown time zone \"Asia/Busan\"");
  CHECK(make_schedule("0 3 * * *", "UTC", "some", std::nullopt, std::nullopt).error() ==
        "catchup: \"some\" is not one of all, latest, none");
  CHECK(make_schedule("0 3 * * *", "UTC", "all", at("2026-02-01T00:00:00Z"),
                      at("2026-01-01T00:00:00Z"))
            .error() == "end: 2026-01-01T00:00:00Z is before start 2026-02-01T00:00:00Z");
}
