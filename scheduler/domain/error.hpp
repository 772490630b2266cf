#pragma once
// Errors of the domain operations (run creation, schedule fires, backfills, reruns, the model
// registry). An expected failure is a value: its message names the object and the reason
// ("pipeline \"etl\" has no schedule"); its kind says what sort of failure it is, so that each
// caller decides what that means for it. The HTTP API maps kinds to statuses in one place
// (api/errors.hpp); the cron scheduler only logs. Database errors still throw
// (store::DbError): they are not outcomes of the operation.
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace ctflow::domain {

enum class ErrorKind {
  invalid,       // the request itself is wrong (a missing field, an unknown task, bad params)
  invalid_spec,  // a pipeline spec that does not validate (details: every problem)
  not_found,     // the object named does not exist
  conflict,      // it exists, but its state forbids the operation (fired already, forbid policy)
  unavailable,   // cannot be done now, though the request is fine (retry later)
  internal,      // stored state that cannot be read (a spec that no longer parses)
};

// The kind's name: "invalid", "not_found", ...
const char* kind_name(ErrorKind k);

struct Error {
  ErrorKind kind = ErrorKind::invalid;
  std::string message;               // one line: the object and the reason
  std::vector<std::string> details;  // more lines when there are several problems (specs)
  // A finer machine-readable reason than the kind, when callers tell them apart ("bad_params");
  // empty: code() derives it from the kind.
  std::string reason;

  // The stable code API clients see: `reason`, or for each kind its usual code
  // (invalid -> "bad_request", invalid_spec -> "invalid_spec", not_found -> "not_found",
  // conflict -> "conflict", unavailable -> "unavailable", internal -> "internal").
  std::string code() const;
};

inline Error invalid(std::string message, std::string reason = {}) {
  return {ErrorKind::invalid, std::move(message), {}, std::move(reason)};
}
inline Error not_found(std::string message) {
  return {ErrorKind::not_found, std::move(message), {}, {}};
}
inline Error conflict(std::string message) {
  return {ErrorKind::conflict, std::move(message), {}, {}};
}
inline Error internal(std::string message) {
  return {ErrorKind::internal, std::move(message), {}, {}};
}

// A value or a domain error.
template <class T>
using Outcome = std::variant<T, Error>;

}  // namespace ctflow::domain
