#pragma once
// Durations and instants as text. All instants are UTC.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace ctflow {

using Clock = std::chrono::system_clock;
using TimePoint = std::chrono::time_point<Clock, std::chrono::microseconds>;
using Millis = std::chrono::milliseconds;

// "500ms", "2s", "1m", "30m", "1h", "1d", or combinations "1h30m"; a bare number means seconds.
std::optional<Millis> parse_duration(std::string_view text);
std::string format_duration(Millis d);

// ISO-8601 UTC with 'Z' ("2026-03-08T07:00:00Z"; fractional seconds only when non-zero).
std::string format_iso8601(TimePoint t);
// Accepts "YYYY-MM-DDTHH:MM[:SS[.ffffff]](Z|+HH:MM)" and "YYYY-MM-DD" (midnight UTC).
std::optional<TimePoint> parse_iso8601(std::string_view text);

TimePoint now_utc();

}  // namespace ctflow
