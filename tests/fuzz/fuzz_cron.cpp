// libFuzzer harness for the cron parser and fire computation: bytes -> "EXPR\nZONE" ->
// cron::parse_cron and TimeZone::load. Checks cron.hpp's promises on every input: an error is
// one non-empty line; an accepted expression's next fires (in the zone, or UTC when the zone does
// not load) are strictly increasing and each one's prev_fire is the one before it.
#include "scheduler/cron/cron.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace ctflow;

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

void one_line(const std::string& e) {
  require(!e.empty() && e.find('\n') == std::string::npos);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::string expr = text.substr(0, text.find('\n'));
  std::string zone =
      text.find('\n') == std::string::npos ? "UTC" : text.substr(text.find('\n') + 1);
  if (zone.size() > 64) zone.resize(64);
  auto parsed = cron::parse_cron(expr);
  if (!parsed) {
    one_line(parsed.error());
    return 0;
  }
  auto tz = cron::TimeZone::load(zone);
  if (!tz) {
    one_line(tz.error());
    tz = cron::TimeZone::load("UTC");
    require(static_cast<bool>(tz));
  }
  // 2026-03-29T00:30:00Z: a spring-forward night in Europe, so zone transitions get exercised.
  TimePoint at{std::chrono::microseconds(1774744200LL * 1000000)};
  auto fires = cron::next_fires(*parsed, *tz, at, 4);
  if (!fires) {
    one_line(fires.error());
    return 0;
  }
  TimePoint last = at;
  for (size_t i = 0; i < fires->size(); ++i) {
    require((*fires)[i] > last);
    if (i > 0) {
      auto prev = cron::prev_fire(*parsed, *tz, (*fires)[i]);
      require(prev && *prev == (*fires)[i - 1]);
    }
    last = (*fires)[i];
  }
  return 0;
}
