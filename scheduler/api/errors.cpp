#include "scheduler/api/errors.hpp"

namespace ctflow::api {

int http_status(domain::ErrorKind kind) {
  switch (kind) {
    case domain::ErrorKind::invalid:
      return 400;
    case domain::ErrorKind::invalid_spec:
      return 422;
    case domain::ErrorKind::not_found:
      return 404;
    case domain::ErrorKind::conflict:
      return 409;
    case domain::ErrorKind::unavailable:
      return 503;
    case domain::ErrorKind::internal:
      return 500;
  }
  return 500;
}

http::Response error_response(const domain::Error& e, std::string_view path) {
  boost::json::object err{{"code", e.code()}, {"message", e.message}, {"path", path}};
  if (!e.details.empty()) {
    boost::json::array d;
    for (const auto& l : e.details) d.emplace_back(l);
    err["details"] = std::move(d);
  }
  return http::json_response(http_status(e.kind), boost::json::object{{"error", std::move(err)}});
}

}  // namespace ctflow::api
