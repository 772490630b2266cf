// framing_error (beast_convert.hpp): RFC 9112 section 6 on a request's framing headers, the check
// the server runs before reading a body (request smuggling). Pure: headers in, a reason out.
#include <catch2/catch.hpp>

#include "scheduler/api/http/beast_convert.hpp"

using namespace ctflow::http;

namespace {

bhttp::request_header<> head(std::vector<std::pair<std::string, std::string>> fields,
                             unsigned version = 11) {
  bhttp::request_header<> h;
  h.method(bhttp::verb::post);
  h.target("/api/v1/runs");
  h.version(version);
  for (const auto& [k, v] : fields) h.insert(k, v);
  return h;
}

}  // namespace

TEST_CASE("framing: one Content-Length or exactly chunked is accepted", "[http][framing]") {
  CHECK(!framing_error(head({})));
  CHECK(!framing_error(head({{"Content-Length", "12"}})));
  CHECK(!framing_error(head({{"Transfer-Encoding", "chunked"}})));
  CHECK(!framing_error(head({{"Transfer-Encoding", " Chunked\t"}})));  // case, OWS
}

TEST_CASE("framing: ambiguous requests are refused with a one-line reason", "[http][framing]") {
  const std::vector<std::vector<std::pair<std::string, std::string>>> bad = {
      {{"Transfer-Encoding", "chunked, identity"}},
      {{"Transfer-Encoding", "identity"}},
      {{"Transfer-Encoding", "gzip, chunked"}},
      {{"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}},
      {{"Transfer-Encoding", ""}},
      {{"Transfer-Encoding", "chunked,"}},
      {{"Transfer-Encoding", "xchunked"}},
      {{"Content-Length", "5"}, {"Transfer-Encoding", "chunked"}},
      {{"Content-Length", "5"}, {"Content-Length", "5"}},
      {{"Content-Length", "5"}, {"Content-Length", "6"}},
  };
  for (const auto& fields : bad) {
    std::string shown;
    for (const auto& [k, v] : fields) shown += k + ": " + v + " | ";
    INFO(shown);
    auto why = framing_error(head(fields));
    REQUIRE(why);
    CHECK(!why->empty());
    CHECK(why->find('\n') == std::string::npos);
  }
  auto old = framing_error(head({{"Transfer-Encoding", "chunked"}}, 10));
  REQUIRE(old);
  CHECK_THAT(*old, Catch::Contains("HTTP/1.0"));
}
