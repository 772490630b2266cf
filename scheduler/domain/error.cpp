#include "scheduler/domain/error.hpp"

namespace ctflow::domain {

const char* kind_name(ErrorKind k) {
  switch (k) {
    case ErrorKind::invalid:
      return "invalid";
    case ErrorKind::invalid_spec:
      return "invalid_spec";
    case ErrorKind::not_found:
      return "not_found";
    case ErrorKind::conflict:
      return "conflict";
    case ErrorKind::unavailable:
      return "unavailable";
    case ErrorKind::internal:
      return "internal";
  }
  return "internal";
}

std::string Error::code() const {
  if (!reason.empty()) return reason;
  return kind == ErrorKind::invalid ? "bad_request" : kind_name(kind);
}

}  // namespace ctflow::domain
