// Loading IANA time zones through cctz, and mapping local civil minutes to fire instants.
#include <cctype>

#include "scheduler/cron/cron.hpp"

namespace ctflow::cron {
namespace {

// IANA names are ASCII path components ("America/Argentina/Buenos_Aires", "Etc/GMT+5").
// cctz would also read absolute paths, "localtime" (the host's zone) and relative paths with
// "..", none of which are zone names: reject them before touching the file system.
std::optional<std::string> check_shape(const std::string& name) {
  if (name.empty()) return "empty time zone name";
  if (name.size() > 64) return "time zone name longer than 64 characters";
  for (char c : name) {
    bool ok =
        std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '+' || c == '/';
    if (!ok) {
      std::string shown;  // printable, so the error stays one line
      for (char d : name) shown += std::isprint(static_cast<unsigned char>(d)) ? d : '?';
      return "unknown time zone \"" + shown + "\" (not an IANA name)";
    }
  }
  size_t start = 0;
  while (start <= name.size()) {
    size_t slash = name.find('/', start);
    std::string part = name.substr(start, slash == std::string::npos ? name.npos : slash - start);
    if (part.empty() || part == "." || part == "..")
      return "unknown time zone \"" + name + "\" (not an IANA name)";
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (name == "localtime") return "unknown time zone \"localtime\" (name an IANA zone instead)";
  return std::nullopt;
}

}  // namespace

Result<TimeZone> TimeZone::load(const std::string& name) {
  if (auto err = check_shape(name)) return Error{*err};
  cctz::time_zone zone;
  if (!cctz::load_time_zone(name, &zone)) return Error{"unknown time zone \"" + name + "\""};
  return TimeZone(name, zone);
}

TimeZone TimeZone::utc() {
  return TimeZone("UTC", cctz::utc_time_zone());
}

std::optional<std::string> check_time_zone(const std::string& zone) {
  auto tz = TimeZone::load(zone);
  if (!tz) return tz.error();
  return std::nullopt;
}

TimePoint fire_instant(const TimeZone& tz, const cctz::civil_minute& local) {
  const cctz::time_zone::civil_lookup cl = tz.zone().lookup(cctz::civil_second(local));
  // UNIQUE: pre == trans == post. REPEATED: pre is the first occurrence. SKIPPED: trans is the
  // first instant after the gap, so every skipped minute of one gap lands on the same instant.
  const cctz::time_point<cctz::seconds> tp =
      cl.kind == cctz::time_zone::civil_lookup::SKIPPED ? cl.trans : cl.pre;
  return std::chrono::time_point_cast<std::chrono::microseconds>(tp);
}

}  // namespace ctflow::cron
