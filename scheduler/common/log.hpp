#pragma once
// Minimal leveled logging to stderr: one line per message, with a UTC timestamp. Thread-safe.
#include <fmt/format.h>

#include <string>

namespace ctflow::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3 };
void set_level(Level l);
bool enabled(Level l);
void write(Level l, const std::string& msg);
// `line` and a newline to stderr as one write, never interleaved with log lines of other threads.
void print_line(const std::string& line);
// Whether the engine traces its passes (CTFLOW_TRACE_PASS set in the environment), read once.
bool trace_pass();

template <class... A>
void info(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::Info)) write(Level::Info, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void warn(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::Warn)) write(Level::Warn, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void error(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::Error)) write(Level::Error, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void debug(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::Debug)) write(Level::Debug, fmt::format(f, std::forward<A>(a)...));
}

}  // namespace ctflow::log
