#include "scheduler/api/http/router.hpp"

#include "scheduler/common/log.hpp"
#include "scheduler/common/unavailable.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>
#include <stdexcept>

namespace ctflow::http {

namespace {

bool valid_name(std::string_view n) {
  if (n.empty() || !(std::isalpha(static_cast<unsigned char>(n[0])) || n[0] == '_')) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

std::vector<std::string_view> split_raw(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);  // "/runs/" == "/runs"
  if (path.empty()) return out;
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    out.push_back(path.substr(start, slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

// One line, bounded: what goes into the server log for a failed handler.
std::string first_line(std::string_view s) {
  s = s.substr(0, s.find('\n'));
  return std::string(s.substr(0, 300));
}

}  // namespace

std::string_view role_name(Role r) {
  switch (r) {
    case Role::None:
      return "none";
    case Role::Viewer:
      return "viewer";
    case Role::Operator:
      return "operator";
    case Role::Admin:
      return "admin";
  }
  return "none";
}

std::optional<Role> parse_role(std::string_view name) {
  for (Role r : {Role::None, Role::Viewer, Role::Operator, Role::Admin})
    if (role_name(r) == name) return r;
  return std::nullopt;
}

const std::string& PathParams::get(std::string_view name) const {
  static const std::string kEmpty;
  for (const auto& [k, v] : items_)
    if (k == name) return v;
  return kEmpty;
}

std::optional<int64_t> PathParams::get_int(std::string_view name) const {
  const std::string& s = get(name);
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

Router::Router(RouterOptions options) : options_(std::move(options)) {}

Router& Router::add(Route route) {
  auto fail = [&](const std::string& why) {
    throw std::logic_error("route " + route.method + " " + route.pattern + ": " + why);
  };
  if (!route.handler) fail("no handler");
  if (route.method.empty() || !std::all_of(route.method.begin(), route.method.end(),
                                           [](char c) { return c >= 'A' && c <= 'Z'; }))
    fail("method must be upper case");
  if (route.pattern.empty() || route.pattern.front() != '/') fail("pattern must start with '/'");
  if (!route.min_role) fail("no min_role: every route states who may call it");
  if (*route.min_role == Role::None && route.method != "GET" && !options_.public_writes)
    fail("a public route must be GET: an unauthenticated request never changes anything");
  // A predictor's inference routes are public writes (RouterOptions::public_writes); a write
  // that asks for a token asks for operator or above.
  bool public_write = options_.public_writes && *route.min_role == Role::None;
  if (route.method != "GET" && *route.min_role < Role::Operator && !public_write)
    fail("a " + route.method + " route needs role operator or above, not " +
         std::string(role_name(*route.min_role)) + ": a viewer never changes anything");
  if (route.query_token && route.method != "GET") fail("query_token is only for GET routes");

  Entry e;
  std::set<std::string, std::less<>> names;
  auto raw = split_raw(route.pattern);
  for (size_t i = 0; i < raw.size(); ++i) {
    std::string_view s = raw[i];
    if (s.size() >= 2 && s.front() == '{' && s.back() == '}') {
      std::string_view name = s.substr(1, s.size() - 2);
      SegKind kind = SegKind::Param;
      if (!name.empty() && name.back() == '*') {
        if (i + 1 != raw.size()) fail("{name*} must be the last segment");
        name.remove_suffix(1);
        kind = SegKind::Tail;
      }
      if (!valid_name(name)) fail("bad parameter name '" + std::string(name) + "'");
      if (!names.emplace(name).second) fail("parameter '" + std::string(name) + "' repeats");
      e.segments.push_back({kind, std::string(name)});
    } else {
      if (s.empty() || s.find_first_of("{}") != std::string_view::npos)
        fail("bad segment '" + std::string(s) + "'");
      e.segments.push_back({SegKind::Literal, std::string(s)});
    }
  }
  for (size_t j = 0; j < entries_.size(); ++j) {
    if (routes_[j].method != route.method) continue;
    const auto& a = entries_[j].segments;
    bool same =
        a.size() == e.segments.size() &&
        std::equal(a.begin(), a.end(), e.segments.begin(), [](const auto& x, const auto& y) {
          return x.kind == y.kind && (x.kind != SegKind::Literal || x.text == y.text);
        });
    if (same) fail("duplicates " + routes_[j].pattern);
  }
  routes_.push_back(std::move(route));
  entries_.push_back(std::move(e));
  return *this;
}

Router& Router::add_openapi_route(std::string path) {
  Route r;
  r.method = "GET";
  r.pattern = std::move(path);
  r.summary = "This OpenAPI 3.0 document";
  r.tag = "meta";
  r.min_role = Role::None;
  r.handler = [this](const Request&, const PathParams&, const Principal&) {
    return json_response(200, openapi());
  };
  return add(std::move(r));
}

void Router::set_authenticator(Authenticator authenticator) {
  authenticator_ = std::move(authenticator);
}

bool Router::match(size_t i, const std::vector<std::string>& path, PathParams* params) const {
  const auto& segs = entries_[i].segments;
  bool tail = !segs.empty() && segs.back().kind == SegKind::Tail;
  size_t fixed = tail ? segs.size() - 1 : segs.size();
  if (tail ? path.size() < fixed : path.size() != fixed) return false;
  for (size_t k = 0; k < fixed; ++k)
    if (segs[k].kind == SegKind::Literal && segs[k].text != path[k]) return false;
  if (!params) return true;
  for (size_t k = 0; k < fixed; ++k)
    if (segs[k].kind == SegKind::Param) params->add(segs[k].text, path[k]);
  if (tail) {
    std::string rest;
    for (size_t k = fixed; k < path.size(); ++k) rest += (k > fixed ? "/" : "") + path[k];
    params->add(segs.back().text, std::move(rest));
  }
  return true;
}

// Segment by segment, Literal beats Param beats Tail; on a tie the longer pattern wins.
bool Router::more_specific(size_t a, size_t b) const {
  const auto& x = entries_[a].segments;
  const auto& y = entries_[b].segments;
  for (size_t k = 0; k < std::min(x.size(), y.size()); ++k)
    if (x[k].kind != y[k].kind) return x[k].kind < y[k].kind;
  return x.size() > y.size();
}

Response Router::handle_request(const Request& req) const {
  std::vector<std::string> path;
  for (std::string_view raw : split_raw(req.path)) {
    auto seg = percent_decode(raw, false);
    if (!seg)
      return bad_request("path: a malformed percent-escape, a NUL byte or invalid UTF-8", req.path);
    path.push_back(std::move(*seg));
  }

  std::optional<size_t> best;
  std::vector<std::string> allowed;
  for (size_t i = 0; i < routes_.size(); ++i) {
    if (!match(i, path, nullptr)) continue;
    if (std::find(allowed.begin(), allowed.end(), routes_[i].method) == allowed.end())
      allowed.push_back(routes_[i].method);
    if (routes_[i].method == req.method && (!best || more_specific(i, *best))) best = i;
  }
  std::sort(allowed.begin(), allowed.end());

  Response res;
  if (req.method == "OPTIONS" && !options_.cors_allowed_origins.empty() && !allowed.empty()) {
    res = preflight(req, allowed);
  } else if (allowed.empty()) {
    res = not_found("no route for " + req.method + " " + req.path, req.path);
  } else if (!best) {
    std::string allow;
    for (const auto& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
    res = error_response(405, "method_not_allowed",
                         req.method + " is not allowed here; allowed: " + allow, req.path);
    res.headers["Allow"] = allow;
  } else {
    PathParams params;
    match(*best, path, &params);
    res = dispatch(req, routes_[*best], params);
    res.route = routes_[*best].pattern;
  }
  add_cors_headers(req, res);
  return res;
}

Response Router::dispatch(const Request& req, const Route& route, const PathParams& params) const {
  const std::string where = req.method + " " + route.pattern;
  try {
    Principal principal;
    if (route.min_role != Role::None) {
      std::string token = req.bearer_token;
      if (token.empty() && route.query_token) token = req.query_value("access_token").value_or("");
      if (token.empty()) return unauthorized("a bearer token is required", req.path);
      std::optional<Principal> found = authenticator_ ? authenticator_(token) : std::nullopt;
      if (!found) {
        Response r = unauthorized("the bearer token is unknown, expired or revoked", req.path);
        r.headers["WWW-Authenticate"] = "Bearer realm=\"ctflow\", error=\"invalid_token\"";
        return r;
      }
      if (found->role < *route.min_role) {
        return forbidden("role " + std::string(role_name(found->role)) + " may not " + req.method +
                             " " + req.path + " (needs " + std::string(role_name(*route.min_role)) +
                             ")",
                         req.path);
      }
      principal = std::move(*found);
    }
    return route.handler(req, params, principal);
  } catch (const Unavailable& e) {
    // Answered at once (the pool does not wait for the database): a client retries, never hangs.
    log::warn("http: {}: {}: {}", where, first_line(e.what()), first_line(e.detail()));
    Response r = unavailable(first_line(e.what()) + "; retry shortly", req.path);
    r.headers["Retry-After"] = "1";
    return r;
  } catch (const std::exception& e) {
    log::error("http: {} failed: {}", where, first_line(e.what()));
  } catch (...) {
    log::error("http: {} failed: a non-standard exception", where);
  }
  return internal_error("internal error while handling " + where + "; see the server log",
                        req.path);
}

bool Router::origin_allowed(std::string_view origin) const {
  for (const auto& o : options_.cors_allowed_origins)
    if (o == "*" || o == origin) return true;
  return false;
}

Response Router::preflight(const Request& req, const std::vector<std::string>& allowed) const {
  Response r = no_content();
  auto origin = req.header("Origin");
  if (!origin || !origin_allowed(*origin)) return r;  // no CORS headers: the browser refuses
  std::string methods;
  for (const auto& m : allowed) methods += (methods.empty() ? "" : ", ") + m;
  r.headers["Access-Control-Allow-Methods"] = methods;
  r.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, Last-Event-ID";
  r.headers["Access-Control-Max-Age"] = "600";
  return r;
}

void Router::add_cors_headers(const Request& req, Response& res) const {
  if (options_.cors_allowed_origins.empty()) return;
  auto origin = req.header("Origin");
  if (!origin || !origin_allowed(*origin)) return;
  res.headers["Access-Control-Allow-Origin"] = *origin;
  res.headers["Vary"] = "Origin";
}

}  // namespace ctflow::http
