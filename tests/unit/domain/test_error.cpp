// Domain error values (scheduler/domain/error.hpp): kinds and the codes clients see.
#include <catch2/catch.hpp>

#include "scheduler/domain/error.hpp"

using namespace ctflow;

TEST_CASE("a domain error's code comes from its kind unless it names a reason", "[domain]") {
  CHECK(domain::invalid("x").code() == "bad_request");
  CHECK(domain::invalid("params: p: expected an int", "bad_params").code() == "bad_params");
  CHECK(domain::not_found("run 9 does not exist").code() == "not_found");
  CHECK(domain::conflict("fired already").code() == "conflict");
  CHECK(domain::internal("unreadable").code() == "internal");
  domain::Error spec{domain::ErrorKind::invalid_spec, "2 problems", {"a", "b"}, {}};
  CHECK(spec.code() == "invalid_spec");
  domain::Error later{domain::ErrorKind::unavailable, "database starting", {}, {}};
  CHECK(later.code() == "unavailable");
  CHECK(std::string(domain::kind_name(domain::ErrorKind::not_found)) == "not_found");
}
