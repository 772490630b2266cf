#include "scheduler/common/time_util.hpp"

#include <cctype>
#include <cstdio>
#include <ctime>

namespace ctflow {

std::optional<Millis> parse_duration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  int64_t total = 0;
  size_t i = 0;
  bool any = false;
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == start) return std::nullopt;
    if (i - start > 12) return std::nullopt;
    int64_t n = std::stoll(std::string(s.substr(start, i - start)));
    std::string_view unit;
    size_t us = i;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    unit = s.substr(us, i - us);
    int64_t mult;
    if (unit.empty() || unit == "s")
      mult = 1000;
    else if (unit == "ms")
      mult = 1;
    else if (unit == "m")
      mult = 60'000;
    else if (unit == "h")
      mult = 3'600'000;
    else if (unit == "d")
      mult = 86'400'000;
    else
      return std::nullopt;
    if (unit.empty() && (any || i < s.size())) return std::nullopt;
    total += n * mult;
    any = true;
  }
  return Millis(total);
}

std::string format_duration(Millis d) {
  int64_t ms = d.count();
  if (ms % 1000) return std::to_string(ms) + "ms";
  int64_t s = ms / 1000;
  if (s % 60) return std::to_string(s) + "s";
  if (s % 3600) return std::to_string(s / 60) + "m";
  return std::to_string(s / 3600) + "h";
}

std::string format_iso8601(TimePoint t) {
  auto us = t.time_since_epoch().count();
  int64_t secs = us / 1'000'000;
  int64_t frac = us % 1'000'000;
  if (frac < 0) {
    frac += 1'000'000;
    --secs;
  }
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  if (frac) {
    char f[16];
    std::snprintf(f, sizeof f, ".%06lld", static_cast<long long>(frac));
    out += f;
    while (out.back() == '0') out.pop_back();
  }
  return out + "Z";
}

std::optional<TimePoint> parse_iso8601(std::string_view s) {
  int Y, M, D, h = 0, m = 0, sec = 0;
  char rest[64] = {0};
  std::string str(s);
  if (str.size() > 60) return std::nullopt;
  int n = 0;
  if (std::sscanf(str.c_str(), "%4d-%2d-%2d%n", &Y, &M, &D, &n) != 3 || n != 10)
    return std::nullopt;
  int64_t frac_us = 0;
  int offset_s = 0;
  std::string_view tail = std::string_view(str).substr(10);
  if (!tail.empty()) {
    if (tail[0] != 'T' && tail[0] != ' ') return std::nullopt;
    int k = 0;
    std::string t(tail.substr(1));
    if (std::sscanf(t.c_str(), "%2d:%2d%n", &h, &m, &k) != 2 || k != 5) return std::nullopt;
    std::string_view r = std::string_view(t).substr(5);
    if (!r.empty() && r[0] == ':') {
      if (r.size() < 3 || !isdigit(r[1]) || !isdigit(r[2])) return std::nullopt;
      sec = (r[1] - '0') * 10 + (r[2] - '0');
      r = r.substr(3);
      if (!r.empty() && r[0] == '.') {
        size_t j = 1;
        int64_t scale = 100000;
        while (j < r.size() && isdigit(r[j])) {
          if (scale > 0) frac_us += (r[j] - '0') * scale;
          scale /= 10;
          ++j;
        }
        if (j == 1) return std::nullopt;
        r = r.substr(j);
      }
    }
    if (r == "Z" || r == "z") {
    } else if (r.size() == 6 && (r[0] == '+' || r[0] == '-') && r[3] == ':') {
      int oh = 0, om = 0;
      std::string rr(r);
      if (std::sscanf(rr.c_str() + 1, "%2d:%2d", &oh, &om) != 2) return std::nullopt;
      offset_s = (oh * 3600 + om * 60) * (r[0] == '+' ? 1 : -1);
    } else if (!r.empty()) {
      return std::nullopt;
    } else {
      return std::nullopt;  // a time without a zone is ambiguous
    }
  }
  (void)rest;
  if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60) return std::nullopt;
  std::tm tm{};
  tm.tm_year = Y - 1900;
  tm.tm_mon = M - 1;
  tm.tm_mday = D;
  tm.tm_hour = h;
  tm.tm_min = m;
  tm.tm_sec = sec;
  std::time_t tt = timegm(&tm);
  std::tm check{};
  gmtime_r(&tt, &check);
  if (check.tm_mday != D) return std::nullopt;  // 2026-02-30
  int64_t us = (static_cast<int64_t>(tt) - offset_s) * 1'000'000 + frac_us;
  return TimePoint(std::chrono::microseconds(us));
}

TimePoint now_utc() {
  return std::chrono::time_point_cast<std::chrono::microseconds>(Clock::now());
}

}  // namespace ctflow
