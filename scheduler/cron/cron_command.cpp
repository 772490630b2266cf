// `ctflow cron next`: argument checks, then next_fires, then one instant per line.
#include "scheduler/cron/cron_command.hpp"

#include "scheduler/cron/cron.hpp"

namespace ctflow::cron {
namespace {

int fail(std::ostream& err, const std::string& field, const std::string& reason) {
  err << "error: " << field << ": " << reason << "\n";
  return 2;
}

// Keeps an echoed argument short and on one line.
std::string shown(const std::string& s) {
  std::string out;
  for (char c : s.substr(0, 40)) out += (c == '\n' || c == '\r') ? ' ' : c;
  if (s.size() > 40) out += "...";
  return "\"" + out + "\"";
}

}  // namespace

int cron_next_main(const std::string& expr, const std::string& tz,
                   std::optional<std::string> from_iso, int count, std::ostream& out,
                   std::ostream& err) {
  auto parsed = parse_cron(expr);
  if (!parsed) return fail(err, "cron expression", parsed.error());
  auto zone = TimeZone::load(tz);
  if (!zone) return fail(err, "--tz", zone.error());
  TimePoint from = now_utc();
  if (from_iso) {
    auto t = parse_iso8601(*from_iso);
    if (!t)
      return fail(err, "--from",
                  shown(*from_iso) + " is not an ISO-8601 instant (e.g. 2026-03-08T07:00:00Z)");
    from = *t;
  }
  if (count < 1 || count > kCronNextMaxCount)
    return fail(err, "-n",
                std::to_string(count) + " is out of range 1-" + std::to_string(kCronNextMaxCount));
  auto fires = next_fires(*parsed, *zone, from, static_cast<size_t>(count));
  if (!fires) return fail(err, "cron expression", fires.error());
  std::string text;
  for (TimePoint t : *fires) text += format_iso8601(t) + "\n";
  out << text;
  return 0;
}

}  // namespace ctflow::cron
