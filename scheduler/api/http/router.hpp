#pragma once
// Router: the route table and the pure function from a Request to a Response.
//
// handle_request() touches no socket: it matches the route (404 for an unknown path, 405 with
// an Allow header for a known path and another method), authenticates the bearer token through
// the injected Authenticator (401 missing or unknown token, with WWW-Authenticate; 403 when the
// token's role is below the route's), calls the handler, and turns anything the handler throws
// into a 500 JSON error with a one-line message (the details go to the server log, never to the
// client); a handler (or the authenticator) that throws ctflow::Unavailable (a dependency such as
// the database is away) answers 503 with Retry-After instead. Routes with min_role Role::None are
// public (/healthz, /readyz, /metrics).
//
// Authorization by construction: every route states its role (Route::min_role has no default;
// add() refuses a route without one), and add() refuses a route with any method but GET below
// Role::Operator, so a viewer or an anonymous request can never reach a handler that changes
// anything. tests/security/test_route_auth.cpp walks the server's whole table to check it.
//
// The same table generates the OpenAPI 3.0 document (openapi()), so the two cannot drift apart.
//
// Threads: build the table (add, set_authenticator) before serving; afterwards handle_request()
// and openapi() are const and may run on any number of threads at once. Handlers and the
// authenticator run on the calling thread (the server's worker pool) and may block on the
// database; they must be safe to call concurrently.
#include "scheduler/api/http/message.hpp"

#include <boost/json.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ctflow::http {

// Ordered: a higher role may do everything a lower one may. viewer reads; operator submits,
// cancels, pauses; admin manages tokens and deletes.
enum class Role { None = 0, Viewer = 1, Operator = 2, Admin = 3 };
std::string_view role_name(Role r);  // "none", "viewer", "operator", "admin"
std::optional<Role> parse_role(std::string_view name);

// Who made the request. For public routes: Role::None and empty ids.
struct Principal {
  Role role = Role::None;
  std::string token_id;  // the token's stable id (api_tokens row), for audit; never the secret
  std::string name;      // optional human label of the token
};

// Looks up a bearer token. nullopt: unknown, expired or revoked (all answer the same 401, so a
// client cannot probe which). Runs on a worker thread; may block on the database. Compare
// secrets in constant time (hash, then compare digests).
using Authenticator = std::function<std::optional<Principal>(std::string_view token)>;

// Values captured by a pattern's {name} segments, percent-decoded.
class PathParams {
 public:
  // The value of {name}; "" when the pattern has no such segment.
  const std::string& get(std::string_view name) const;
  // The value as a decimal integer; nullopt when absent, not a number or out of range.
  std::optional<int64_t> get_int(std::string_view name) const;
  void add(std::string name, std::string value) {
    items_.emplace_back(std::move(name), std::move(value));
  }
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

using Handler = std::function<Response(const Request&, const PathParams&, const Principal&)>;

// A query parameter, for the OpenAPI document only (handlers parse their own).
struct QueryDoc {
  std::string name;
  std::string type = "string";  // an OpenAPI primitive: string, integer, number, boolean
  std::string description;
  bool required = false;
};

struct Route {
  std::string method;  // "GET", "POST", "PUT", "PATCH", "DELETE"
  // Absolute path; a segment "{name}" matches one segment, a final "{name*}" matches the rest of
  // the path (possibly empty, may hold '/'). Literal segments beat {name}, which beats {name*}.
  std::string pattern;  // "/api/v1/runs/{id}/tasks/{name}"
  std::string summary;  // one line, shown in the OpenAPI document
  // Required (add() refuses a route without it). Role::None: public; a method other than GET
  // needs Role::Operator or above.
  std::optional<Role> min_role;
  Handler handler;

  // --- documentation hints (OpenAPI) ---
  std::string tag;                     // group, e.g. "runs"; default: first segment after /api/v1
  boost::json::value request_schema;   // JSON schema of the body; null: no body
  boost::json::value response_schema;  // JSON schema of the success body; null: any object
  int success_status = 200;
  std::vector<QueryDoc> query;
  bool streaming = false;  // answers text/event-stream (documented as such)
  // Accept the token as ?access_token=T too: browsers' EventSource cannot set headers. Only for
  // GET routes; the token then appears in access logs, so keep it to streams.
  bool query_token = false;
};

struct RouterOptions {
  std::string title = "ctflow API";
  std::string version = "1";
  // CORS: off when empty. Origins allowed to call the API from a browser ("https://a.example");
  // "*" allows any origin. Preflight OPTIONS requests are answered by the router.
  std::vector<std::string> cors_allowed_origins;
  // Allow public routes (Role::None) with any method. Off for the control plane, where a public
  // route never changes anything; ctflow-serve turns it on for KServe's public POST inference
  // routes, which change no state.
  bool public_writes = false;
};

class Router {
 public:
  explicit Router(RouterOptions options = {});

  // Adds a route. Throws std::logic_error on a programming error found at startup: a malformed
  // pattern, a duplicate method and pattern, no min_role, a method other than GET below
  // Role::Operator, a missing handler, query_token on a non-GET route.
  Router& add(Route route);
  // Adds GET /api/v1/openapi.json (public), serving openapi().
  Router& add_openapi_route(std::string path = "/api/v1/openapi.json");
  void set_authenticator(Authenticator authenticator);

  Response handle_request(const Request& req) const;
  boost::json::value openapi() const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  enum class SegKind { Literal, Param, Tail };
  struct Segment {
    SegKind kind;
    std::string text;  // the literal, or the parameter's name
  };
  struct Entry {
    std::vector<Segment> segments;
  };
  // Whether entry i matches the decoded path segments; fills `params` on success.
  bool match(size_t i, const std::vector<std::string>& path, PathParams* params) const;
  bool more_specific(size_t a, size_t b) const;
  Response dispatch(const Request& req, const Route& route, const PathParams& params) const;
  Response preflight(const Request& req, const std::vector<std::string>& allowed) const;
  void add_cors_headers(const Request& req, Response& res) const;
  bool origin_allowed(std::string_view origin) const;

  const RouterOptions options_;
  Authenticator authenticator_;
  std::vector<Route> routes_;  // parallel to entries_
  std::vector<Entry> entries_;
};

}  // namespace ctflow::http
