// Domain errors as HTTP responses (scheduler/api/errors.hpp): the one kind -> status mapping.
#include <catch2/catch.hpp>

#include "scheduler/api/errors.hpp"

using namespace ctflow;

namespace {

boost::json::object error_of(const http::Response& r) {
  return boost::json::parse(r.body).as_object().at("error").as_object();
}

}  // namespace

TEST_CASE("each domain error kind has its HTTP status", "[api][errors]") {
  using K = domain::ErrorKind;
  CHECK(api::http_status(K::invalid) == 400);
  CHECK(api::http_status(K::invalid_spec) == 422);
  CHECK(api::http_status(K::not_found) == 404);
  CHECK(api::http_status(K::conflict) == 409);
  CHECK(api::http_status(K::unavailable) == 503);
  CHECK(api::http_status(K::internal) == 500);
}

TEST_CASE("a domain error renders as the API's error body", "[api][errors]") {
  auto r = api::error_response(domain::not_found("pipeline \"etl\" has no schedule"),
                               "/api/v1/schedules/etl/trigger");
  CHECK(r.status == 404);
  auto e = error_of(r);
  CHECK(e.at("code").as_string() == "not_found");
  CHECK(e.at("message").as_string() == "pipeline \"etl\" has no schedule");
  CHECK(e.at("path").as_string() == "/api/v1/schedules/etl/trigger");
  CHECK_FALSE(e.contains("details"));

  auto p = api::error_response(domain::invalid("params: n: expected an int", "bad_params"), "/x");
  CHECK(p.status == 400);
  CHECK(error_of(p).at("code").as_string() == "bad_params");
}

TEST_CASE("a spec error keeps every problem in details", "[api][errors]") {
  domain::Error e{domain::ErrorKind::invalid_spec,
                  "2 problems in the spec; first: tasks[1].needs[0]: unknown task \"splt\"",
                  {"tasks[1].needs[0]: unknown task \"splt\"", "name: required"},
                  {}};
  auto r = api::error_response(e, "/api/v1/runs");
  CHECK(r.status == 422);
  auto body = error_of(r);
  CHECK(body.at("code").as_string() == "invalid_spec");
  REQUIRE(body.at("details").as_array().size() == 2);
  CHECK(body.at("details").as_array()[1].as_string() == "name: required");
}
