// The dashboard's static files (see routes_web.hpp).
#include "scheduler/api/routes_web.hpp"

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "scheduler/api/http/message.hpp"

namespace ctflow::api {

namespace fs = std::filesystem;

namespace {

// Scripts only from this origin (no inline scripts, no eval); inline style attributes are
// allowed because the graph and chart libraries position their nodes with them.
constexpr const char* kCsp =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

const char* content_type(const fs::path& p) {
  auto ext = p.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json" || ext == ".map") return "application/json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".woff2") return "font/woff2";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  if (ext == ".wasm") return "application/wasm";
  return "application/octet-stream";
}

void common_headers(http::Response& res) {
  res.headers["Content-Security-Policy"] = kCsp;
  res.headers["X-Content-Type-Options"] = "nosniff";
  res.headers["Referrer-Policy"] = "no-referrer";
}

http::Response file_response(const fs::path& file, bool immutable) {
  http::Response res;
  res.content_type = content_type(file);
  res.file_path = file.string();
  res.headers["Cache-Control"] = immutable ? "public, max-age=31536000, immutable" : "no-cache";
  common_headers(res);
  return res;
}

constexpr const char* kNotBuilt =
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>ctflow</title></head>"
    "<body><h1>ctflow</h1><p>The dashboard is not built. Run <code>make</code> (it runs "
    "<code>npm ci</code> and <code>vite build</code> in <code>web/</code>) or set "
    "<code>CTFLOW_WEB_DIR</code> to a built <code>web/dist</code>.</p><p>The REST API is under "
    "<a href=\"/api/v1/openapi.json\">/api/v1</a>.</p></body></html>";

bool has_index(const fs::path& dir) {
  std::error_code ec;
  return !dir.empty() && fs::is_regular_file(dir / "index.html", ec);
}

}  // namespace

std::string find_web_dir(const std::string& exe_path) {
  if (const char* env = std::getenv("CTFLOW_WEB_DIR"); env && *env) return env;
  fs::path exe_dir = fs::path(exe_path).parent_path();
  std::vector<fs::path> candidates{exe_dir / "web", exe_dir / ".." / "web" / "dist"};
#ifdef CTFLOW_SOURCE_DIR
  candidates.emplace_back(fs::path(CTFLOW_SOURCE_DIR) / "web" / "dist");
#endif
  for (const auto& c : candidates) {
    std::error_code ec;
    if (has_index(c)) return fs::weakly_canonical(c, ec).string();
  }
  return "";
}

http::Response serve_web_file(const std::string& web_dir, const std::string& path) {
  if (path.rfind("/api/", 0) == 0 || path == "/api")
    return http::not_found("no route for GET " + path, path);
  if (web_dir.empty() || !has_index(web_dir)) {
    auto res = http::text_response(200, kNotBuilt, "text/html; charset=utf-8");
    res.headers["Cache-Control"] = "no-cache";
    common_headers(res);
    return res;
  }
  fs::path root(web_dir);
  fs::path rel = fs::path(path).relative_path().lexically_normal();
  // A path that climbs out of the folder (or names a hidden file) is never a file of ours.
  bool safe = true;
  for (const auto& part : rel)
    if (part == ".." || (!part.empty() && part.string()[0] == '.')) safe = false;
  if (safe && !rel.empty() && rel != "index.html") {
    std::error_code ec;
    fs::path file = root / rel;
    if (fs::is_regular_file(file, ec)) {
      // Vite names what it builds under assets/ by content hash: safe to cache for ever.
      bool hashed = *rel.begin() == "assets";
      return file_response(file, hashed);
    }
    // A missing asset is a 404, not the app: a stale index.html must not get HTML for a script.
    if (*rel.begin() == "assets" || rel.has_extension())
      return http::not_found("no file " + path, path);
  }
  return file_response(root / "index.html", false);
}

void add_web_routes(http::Router& r, std::string web_dir) {
  r.add(
      {.method = "GET",
       .pattern = "/{path*}",
       .summary = "The browser dashboard: static files, client routes answer index.html",
       .min_role = http::Role::None,
       .handler = [dir = std::move(web_dir)](
                      const http::Request&, const http::PathParams& pp,
                      const http::Principal&) { return serve_web_file(dir, "/" + pp.get("path")); },
       .tag = "dashboard"});
}

}  // namespace ctflow::api
