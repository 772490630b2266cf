// parse_cron's bitsets and day rule, and time zone loading.
#include <catch2/catch.hpp>

#include "scheduler/cron/cron.hpp"

using namespace ctflow;
using namespace ctflow::cron;

namespace {

CronExpr must_parse(const std::string& text) {
  auto r = parse_cron(text);
  INFO(text << ": " << (r ? "" : r.error()));
  REQUIRE(r);
  return *r;
}

template <size_t N>
std::vector<int> values(const std::bitset<N>& b) {
  std::vector<int> out;
  for (size_t i = 0; i < N; ++i)
    if (b[i]) out.push_back(static_cast<int>(i));
  return out;
}

}  // namespace

TEST_CASE("cron parse: lists, ranges and steps set the right values", "[cron]") {
  CronExpr e = must_parse("5-59/20 8-10,14,20-22/2 1,15 */4 *");
  CHECK(values(e.minutes()) == std::vector<int>{5, 25, 45});
  CHECK(values(e.hours()) == std::vector<int>{8, 9, 10, 14, 20, 22});
  CHECK(values(e.days_of_month()) == std::vector<int>{1, 15});
  CHECK(values(e.months()) == std::vector<int>{1, 5, 9});
  CHECK(values(e.days_of_week()) == std::vector<int>{0, 1, 2, 3, 4, 5, 6});
  CHECK_FALSE(e.dom_star());
  CHECK(e.dow_star());
  CHECK(values(must_parse("10/15 * * * *").minutes()) == std::vector<int>{10, 25, 40, 55});
}

TEST_CASE("cron parse: names are case-insensitive and 7 is Sunday", "[cron]") {
  CHECK(values(must_parse("0 0 * JAN,Jul,dec *").months()) == std::vector<int>{1, 7, 12});
  CHECK(values(must_parse("0 0 * * Mon-FRI").days_of_week()) == std::vector<int>{1, 2, 3, 4, 5});
  CHECK(values(must_parse("0 0 * * 7").days_of_week()) == std::vector<int>{0});
  CHECK(values(must_parse("0 0 * * 5-7").days_of_week()) == std::vector<int>{0, 5, 6});
  CHECK(values(must_parse("0 0 * * sun-sat").days_of_week()) ==
        std::vector<int>{0, 1, 2, 3, 4, 5, 6});
  CHECK(values(must_parse("0 0 * * 0,7").days_of_week()) == std::vector<int>{0});
}

TEST_CASE("cron parse: macros expand and keep their text", "[cron]") {
  CronExpr hourly = must_parse("@hourly");
  CHECK(values(hourly.minutes()) == std::vector<int>{0});
  CHECK(hourly.hours().all());
  CHECK(hourly.text() == "@hourly");
  CHECK(values(must_parse("@WEEKLY").days_of_week()) == std::vector<int>{0});
  CHECK(values(must_parse("@monthly").days_of_month()) == std::vector<int>{1});
  CronExpr yearly = must_parse("  @annually ");
  CHECK(values(yearly.months()) == std::vector<int>{1});
  CHECK(yearly.text() == "@annually");
  CHECK(values(must_parse("@midnight").hours()) == std::vector<int>{0});
}

TEST_CASE("cron parse: surrounding and repeated whitespace is ignored", "[cron]") {
  CronExpr e = must_parse("\t 0   3 *\t* *  ");
  CHECK(e.text() == "0   3 *\t* *");
  CHECK(values(e.hours()) == std::vector<int>{3});
}

TEST_CASE("cron day rule: OR when both restricted, AND when one starts with *", "[cron]") {
  const cctz::civil_day mon_2(2026, 3, 2), sun_1(2026, 3, 1), tue_3(2026, 3, 3);
  CronExpr either = must_parse("0 0 1 * mon");  // 1st OR Monday
  CHECK(either.day_matches(sun_1));
  CHECK(either.day_matches(mon_2));
  CHECK_FALSE(either.day_matches(tue_3));
  CronExpr both = must_parse("0 0 */2 * mon");  // odd day AND Monday
  CHECK_FALSE(both.day_matches(mon_2));
  CHECK(both.day_matches(cctz::civil_day(2026, 3, 9)));
  CHECK_FALSE(both.day_matches(sun_1));
  CronExpr month = must_parse("0 0 1 jun mon");
  CHECK_FALSE(month.day_matches(sun_1));  // the month field always applies
}

TEST_CASE("time zones: IANA names load, others give a reason", "[cron]") {
  CHECK_FALSE(check_time_zone("UTC"));
  CHECK_FALSE(check_time_zone("Europe/Berlin"));
  CHECK_FALSE(check_time_zone("America/Argentina/Buenos_Aires"));
  CHECK_FALSE(check_time_zone("Etc/GMT+5"));
  CHECK(check_time_zone("Mars/Olympus") == "unknown time zone \"Mars/Olympus\"");
  CHECK(check_time_zone("") == "empty time zone name");
  CHECK(check_time_zone("localtime").value().find("localtime") != std::string::npos);
  CHECK(check_time_zone("/etc/passwd").value().find("not an IANA name") != std::string::npos);
  CHECK(check_time_zone("../../etc/passwd").value().find("not an IANA name") != std::string::npos);
  CHECK(check_time_zone("Europe/Berlin\nX").value() ==
        "unknown time zone \"Europe/Berlin?X\" (not an IANA name)");
  CHECK(check_time_zone(std::string(100, 'a')).value().find("longer than 64") != std::string::npos);
  auto tz = TimeZone::load("Asia/Seoul");
  REQUIRE(tz);
  CHECK(tz->name() == "Asia/Seoul");
}
