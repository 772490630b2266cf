// `ctflow cron next` (cron_next_main): output shape and one-line errors with exit 2.
#include <catch2/catch.hpp>
#include <sstream>

#include "scheduler/common/time_util.hpp"
#include "scheduler/cron/cron_command.hpp"

using namespace ctflow::cron;

namespace {

struct Run {
  int rc;
  std::string out, err;
};

Run run(const std::string& expr, const std::string& tz, std::optional<std::string> from, int n) {
  std::ostringstream out, err;
  int rc = cron_next_main(expr, tz, std::move(from), n, out, err);
  return {rc, out.str(), err.str()};
}

}  // namespace

TEST_CASE("cron next: prints COUNT instants, one per line, nothing else", "[cron][cli]") {
  Run r = run("0 2 * * *", "America/New_York", "2026-03-07T12:00:00Z", 3);
  CHECK(r.rc == 0);
  CHECK(r.out == "2026-03-08T07:00:00Z\n2026-03-09T06:00:00Z\n2026-03-10T06:00:00Z\n");
  CHECK(r.err.empty());
}

TEST_CASE("cron next: without --from it starts from now", "[cron][cli]") {
  Run r = run("* * * * *", "UTC", std::nullopt, 2);
  REQUIRE(r.rc == 0);
  REQUIRE(r.out.size() == 42);  // two "YYYY-MM-DDTHH:MM:00Z\n" lines
  auto first = ctflow::parse_iso8601(r.out.substr(0, 20));
  REQUIRE(first);
  CHECK(*first > ctflow::now_utc() - std::chrono::seconds(5));
  CHECK(*first <= ctflow::now_utc() + std::chrono::seconds(61));
}

TEST_CASE("cron next: bad input gives one line naming the field, exit 2", "[cron][cli]") {
  struct Bad {
    std::string expr, tz;
    std::optional<std::string> from;
    int n;
    std::string err;
  };
  const Bad cases[] = {
      {"0 0 32 * *", "UTC", std::nullopt, 5,
       "error: cron expression: day-of-month: 32 is out of range 1-31\n"},
      {"0 0 * * *", "Mars/Olympus", std::nullopt, 5,
       "error: --tz: unknown time zone \"Mars/Olympus\"\n"},
      {"0 0 * * *", "UTC", "yesterday", 5,
       "error: --from: \"yesterday\" is not an ISO-8601 instant (e.g. 2026-03-08T07:00:00Z)\n"},
      {"0 0 * * *", "UTC", "2026-02-30T00:00:00Z", 5,
       "error: --from: \"2026-02-30T00:00:00Z\" is not an ISO-8601 instant (e.g. "
       "2026-03-08T07:00:00Z)\n"},
      {"0 0 * * *", "UTC", std::nullopt, 0, "error: -n: 0 is out of range 1-1000\n"},
      {"0 0 * * *", "UTC", std::nullopt, 1001, "error: -n: 1001 is out of range 1-1000\n"},
      {"0 0 30 2 *", "UTC", "2026-01-01T00:00:00Z", 5,
       "error: cron expression: no fire within 10 years after 2026-01-01T00:00:00Z\n"},
  };
  for (const Bad& b : cases) {
    INFO(b.expr << " / " << b.tz);
    Run r = run(b.expr, b.tz, b.from, b.n);
    CHECK(r.rc == 2);
    CHECK(r.out.empty());
    CHECK(r.err == b.err);
  }
}
