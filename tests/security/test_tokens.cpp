// Security: bearer tokens (issue 22). A token never shows in the server's log or in an error
// body; an expired or revoked token fails on its next request (tokens are looked up by their
// sha256 digest on every request, nothing is cached); the admin token file stays 0600.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include "tests/integration/api_support.hpp"

using namespace ctflow::it;
using namespace ctflow::it::api;

namespace {

std::string token_id(const ctflow::cli::HttpReply& r) {
  return std::string(json::parse(r.body).as_object().at("id").as_string());
}

}  // namespace

TEST_CASE("tokens never appear in logs or error bodies - expired and revoked fail at once",
          "[security][tokens]") {
  Harness h;
  std::string admin = h.server().token();
  auto a = client(h.server(), admin);
  auto made = a.request("POST", "/api/v1/tokens", R"({"role": "operator", "ttl": "1h"})");
  REQUIRE(made);
  REQUIRE(made->status == 201);
  std::string op = std::string(json::parse(made->body).as_object().at("token").as_string());
  std::string op_id = token_id(*made);
  auto o = client(h.server(), op);
  REQUIRE(o.request("GET", "/api/v1/runs")->status == 200);

  // Expired: the next request fails, with no wait for a cache to age.
  h.db().exec("UPDATE api_tokens SET expires_at = now() WHERE id = " + op_id);
  auto expired = o.request("GET", "/api/v1/runs");
  REQUIRE(expired);
  CHECK(expired->status == 401);
  h.db().exec("UPDATE api_tokens SET expires_at = now() + interval '1 hour' WHERE id = " + op_id);
  REQUIRE(o.request("GET", "/api/v1/runs")->status == 200);
  // Revoked through the API: the very next request fails.
  REQUIRE(a.request("DELETE", "/api/v1/tokens/" + op_id)->status == 204);
  auto revoked = o.request("POST", "/api/v1/runs", R"({"spec": "name: x\ntasks: []\n"})");
  REQUIRE(revoked);
  CHECK(revoked->status == 401);

  // Bad tokens in every place a token is read, including malformed requests and a stream.
  const std::vector<std::string> bad = {"ctf_0123456789abcdef0123456789abcdef0123456789abcd", op,
                                        "ctf_" + std::string(600, 'z')};
  std::vector<std::string> bodies;
  for (const auto& t : bad) {
    auto c = client(h.server(), t);
    for (auto [m, p] : std::vector<std::pair<std::string, std::string>>{
             {"GET", "/api/v1/runs"},
             {"POST", "/api/v1/runs"},
             {"GET", "/api/v1/runs/999"},
             {"GET", "/api/v1/events?access_token=" + t},
             {"GET", "/api/v1/runs?access_token=" + t + "&limit=x"},
             {"GET", "/api/v1/nowhere?access_token=" + t},
             {"GET", "/api/v1/runs/%zz?access_token=" + t}}) {
      auto r = c.request(m, p, m == "POST" ? "{" : "");
      REQUIRE(r);
      INFO(m << " " << p.substr(0, 80) << " -> " << r->status << " " << r->body);
      CHECK(r->status >= 400);
      bodies.push_back(r->body);
    }
    auto anon = client(h.server(), "");
    auto r = anon.request("GET", "/api/v1/events?access_token=" + t);
    REQUIRE(r);
    CHECK(r->status == 401);
    bodies.push_back(r->body);
  }
  // The admin token in requests that fail for other reasons (bad JSON, a missing run).
  bodies.push_back(a.request("POST", "/api/v1/runs", "{")->body);
  bodies.push_back(a.request("GET", "/api/v1/runs/999999")->body);
  bodies.push_back(a.request("GET", "/api/v1/runs?limit=" + admin)->body);

  std::string log = h.server().log();
  for (const auto& t : std::vector<std::string>{admin, op, bad[0]}) {
    INFO("token " << t);
    CHECK(log.find(t) == std::string::npos);
    CHECK(log.find(t.substr(4)) == std::string::npos);  // not even without its prefix
    for (const auto& b : bodies) {
      INFO(b);
      CHECK(b.find(t.substr(4)) == std::string::npos);
    }
  }
  // Stored as sha256 digests only.
  CHECK(h.db().count("SELECT count(*) FROM api_tokens WHERE token_hash LIKE '%" + op.substr(4) +
                     "%'") == 0);
}

TEST_CASE("the admin token file is 0600 and a restart puts it back to 0600", "[security][tokens]") {
  Harness h;
  struct stat st {};
  REQUIRE(::stat(h.server().token_file().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  std::string before = h.server().token();
  ::chmod(h.server().token_file().c_str(), 0644);
  h.server().stop();
  h.server().start();
  REQUIRE(::stat(h.server().token_file().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(h.server().token() == before);  // the same token, reused
  // A file holding a token the database does not know is replaced by a new one, also 0600.
  write_text(h.server().token_file(), "ctf_forged\n");
  ::chmod(h.server().token_file().c_str(), 0666);
  h.server().stop();
  h.server().start();
  REQUIRE(::stat(h.server().token_file().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(h.server().token() != "ctf_forged");
  CHECK(client(h.server(), "ctf_forged").request("GET", "/api/v1/runs")->status == 401);
}
