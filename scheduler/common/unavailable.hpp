#pragma once
// ctflow::Unavailable: thrown when a dependency (the database) is away for a moment and the
// caller should retry later, as opposed to a bug or a bad request. The HTTP router answers it
// with 503 and Retry-After. what() is one line for clients ("the database is unavailable");
// detail() adds the reason for the server log (socket paths, libpq's text), never for clients.
#include <stdexcept>
#include <string>

namespace ctflow {

class Unavailable : public std::runtime_error {
 public:
  Unavailable(const std::string& what, std::string detail)
      : std::runtime_error(what), detail_(std::move(detail)) {}
  const std::string& detail() const { return detail_; }

 private:
  std::string detail_;
};

}  // namespace ctflow
