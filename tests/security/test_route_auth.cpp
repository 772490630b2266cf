// Security: authorization by construction (issue 22). The server's own route table, built by the
// same api::add_all_routes() that `ctflow server` calls, walked with no filter: every route that
// is not one of the few public GETs answers 401 to an anonymous request, to a made-up token, to
// an expired and to a revoked one; every route but GET answers 403 to a viewer; admin routes
// answer 403 to an operator. A route added later (by any module) is in the walk at once.
#include <catch2/catch.hpp>

#include <set>

#include "scheduler/api/routes_all.hpp"
#include "scheduler/common/sha256.hpp"
#include "scheduler/store/migrate.hpp"
#include "scheduler/store/tokens.hpp"
#include "tests/integration/support/harness.hpp"

using namespace ctflow;
using http::Role;

namespace {

// A plausible value for a path parameter, so the request resolves to the route under test.
std::string plausible(const std::string& name, bool tail) {
  if (tail) return "runs/1";
  if (name == "digest") return std::string(64, 'a');
  if (name == "id" || name == "v" || name == "version" || name == "step") return "1";
  return "apitest";
}

std::string concrete_path(const std::string& pattern) {
  std::string out;
  size_t i = 0;
  while (i < pattern.size()) {
    size_t open = pattern.find('{', i);
    if (open == std::string::npos) {
      out += pattern.substr(i);
      break;
    }
    size_t close = pattern.find('}', open);
    out += pattern.substr(i, open - i);
    std::string name = pattern.substr(open + 1, close - open - 1);
    bool tail = !name.empty() && name.back() == '*';
    if (tail) name.pop_back();
    out += plausible(name, tail);
    i = close + 1;
  }
  return out;
}

http::Request request(const http::Route& r, const std::string& token) {
  http::Request q;
  q.method = r.method;
  q.path = concrete_path(r.pattern);
  q.bearer_token = token;
  if (!token.empty()) q.headers["Authorization"] = "Bearer " + token;
  q.body = r.method == "GET" ? "" : "{}";
  q.remote_address = "127.0.0.1:1";
  return q;
}

struct Fixture {
  std::string url = it::PgCluster::shared().create_database();
  it::Db db{url};
  store::Pool pool{url, 2};
  api::EventHub hub{url};
  http::MetricsRegistry metrics;
  api::Services services{pool, hub, metrics, [] {}, "/nonexistent-data-dir"};
  SystemClock clock;
  http::Router router;

  Fixture() {
    auto c = store::connect(url);
    REQUIRE(c);
    REQUIRE(store::migrate(**c));
    router.set_authenticator(api::make_authenticator(pool));
    api::add_all_routes(router, services, clock, {}, "");
  }
  std::string token(const std::string& role, const std::string& secret) {
    auto lease = pool.acquire();
    int64_t id = 0;
    store::with_tx(*lease, [&](store::Tx& tx) {
      id = store::create_token(tx, sha256_hex(secret), role, role, std::nullopt);
    });
    return std::to_string(id);
  }
};

// The only routes anyone may call without a token. A new public route must be added here, on
// purpose, with a reason.
const std::set<std::string> kPublic = {
    "GET /healthz",              // liveness, for probes
    "GET /readyz",               // readiness, for probes
    "GET /metrics",              // Prometheus scrape
    "GET /api/v1/openapi.json",  // the API's description
    "GET /{path*}",              // the dashboard's static files (it logs in with a token)
};

}  // namespace

TEST_CASE("every route of the server: 401 without a valid token - 403 below its role",
          "[security]") {
  Fixture f;
  f.token("viewer", "ctf_viewer_secret");
  f.token("operator", "ctf_operator_secret");
  std::string expired = f.token("admin", "ctf_expired_secret");
  f.db.exec("UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = " + expired);
  std::string revoked = f.token("admin", "ctf_revoked_secret");
  f.db.exec("UPDATE api_tokens SET revoked_at = now() WHERE id = " + revoked);

  const auto& routes = f.router.routes();
  REQUIRE(routes.size() >= 40);  // the whole table, not a part of it
  size_t writes = 0, checked = 0;
  for (const auto& r : routes) {
    std::string what = r.method + " " + r.pattern;
    INFO(what << " as " << concrete_path(r.pattern));
    REQUIRE(r.min_role.has_value());
    if (*r.min_role == Role::None) {
      CHECK(kPublic.count(what) == 1);  // a public route nobody meant to add
      CHECK(r.method == "GET");
      continue;
    }
    auto anon = f.router.handle_request(request(r, ""));
    CHECK(anon.route == r.pattern);  // the request reached this route, not a neighbour
    CHECK(anon.status == 401);
    for (const char* bad : {"ctf_not_a_real_token", "ctf_expired_secret", "ctf_revoked_secret",
                            "' OR '1'='1", "ctf_viewer_secret\n"}) {
      auto res = f.router.handle_request(request(r, bad));
      INFO("token " << bad << " -> " << res.status << " " << res.body);
      CHECK(res.status == 401);
      CHECK(res.body.find(bad) == std::string::npos);  // never echoed back
    }
    if (r.method != "GET") {
      ++writes;
      CHECK(*r.min_role >= Role::Operator);
      auto res = f.router.handle_request(request(r, "ctf_viewer_secret"));
      INFO(res.body);
      CHECK(res.status == 403);
    }
    if (*r.min_role == Role::Admin) {
      CHECK(f.router.handle_request(request(r, "ctf_viewer_secret")).status == 403);
      CHECK(f.router.handle_request(request(r, "ctf_operator_secret")).status == 403);
    }
    ++checked;
  }
  CHECK(writes >= 10);
  CHECK(checked + kPublic.size() == routes.size());
}

TEST_CASE("a route without a role or a write below operator is refused at registration",
          "[security]") {
  http::Router r;
  auto ok = [](const http::Request&, const http::PathParams&, const http::Principal&) {
    return http::no_content();
  };
  http::Route no_role;
  no_role.method = "GET";
  no_role.pattern = "/api/v1/forgot";
  no_role.handler = ok;
  CHECK_THROWS_WITH(r.add(no_role), Catch::Contains("no min_role"));
  for (const char* m : {"POST", "PUT", "PATCH", "DELETE"}) {
    for (Role role : {Role::None, Role::Viewer}) {
      http::Route w;
      w.method = m;
      w.pattern = "/api/v1/write";
      w.min_role = role;
      w.handler = ok;
      INFO(m << " as " << http::role_name(role));
      CHECK_THROWS_AS(r.add(w), std::logic_error);
    }
    http::Route w;
    w.method = m;
    w.pattern = "/api/v1/write";
    w.min_role = Role::Operator;
    w.handler = ok;
    CHECK_NOTHROW(r.add(w));
  }
  CHECK(r.routes().size() == 4);
}
