#pragma once
// Domain errors as HTTP responses: the one place where an error kind becomes a status.
//   invalid -> 400, invalid_spec -> 422, not_found -> 404, conflict -> 409, unavailable -> 503,
//   internal -> 500.
// The body is the API's usual {"error": {"code", "message", "path"}} with "details" (one line
// each) when the error has them. Pure; any thread.
#include <string_view>

#include "scheduler/api/http/message.hpp"
#include "scheduler/domain/error.hpp"

namespace ctflow::api {

int http_status(domain::ErrorKind kind);
http::Response error_response(const domain::Error& e, std::string_view path);

}  // namespace ctflow::api
