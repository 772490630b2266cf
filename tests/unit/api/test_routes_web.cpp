// The dashboard's static files (issue 20): cache headers, client-route fallback, CSP, no escape
// from the folder, API paths keep their JSON 404.
#include "scheduler/api/routes_web.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "scheduler/api/http/router.hpp"

namespace fs = std::filesystem;
using ctflow::api::serve_web_file;

namespace {

struct WebDir {
  fs::path root = fs::temp_directory_path() / ("ctflow-web-" + std::to_string(::getpid()));
  WebDir() {
    fs::create_directories(root / "assets");
    std::ofstream(root / "index.html") << "<!doctype html><div id=root></div>";
    std::ofstream(root / "assets" / "index-abc123.js") << "console.log(1)";
    std::ofstream(root / "favicon.svg") << "<svg/>";
    std::ofstream(root.parent_path() / "secret.txt") << "no";
  }
  ~WebDir() { fs::remove_all(root); }
};

}  // namespace

TEST_CASE("hashed assets are immutable, index.html is never cached", "[api][web]") {
  WebDir d;
  auto a = serve_web_file(d.root.string(), "/assets/index-abc123.js");
  CHECK(a.status == 200);
  CHECK(a.file_path == (d.root / "assets" / "index-abc123.js").string());
  CHECK(a.content_type.rfind("text/javascript", 0) == 0);
  CHECK(a.headers["Cache-Control"].find("immutable") != std::string::npos);
  auto i = serve_web_file(d.root.string(), "/");
  CHECK(i.file_path == (d.root / "index.html").string());
  CHECK(i.headers["Cache-Control"] == "no-cache");
  auto f = serve_web_file(d.root.string(), "/favicon.svg");
  CHECK(f.headers["Cache-Control"] == "no-cache");
}

TEST_CASE("client routes answer index.html, missing files with an extension are 404",
          "[api][web]") {
  WebDir d;
  for (const char* p : {"/runs", "/runs/12", "/models/mnist?version=2", "/pipelines/a/b"}) {
    INFO(p);
    auto r = serve_web_file(d.root.string(), p);
    CHECK(r.status == 200);
    CHECK(r.file_path == (d.root / "index.html").string());
  }
  CHECK(serve_web_file(d.root.string(), "/assets/gone-123.js").status == 404);
  CHECK(serve_web_file(d.root.string(), "/robots.txt").status == 404);
}

TEST_CASE("every answer has a CSP without inline scripts", "[api][web]") {
  WebDir d;
  for (const char* p : {"/", "/runs", "/assets/index-abc123.js"}) {
    auto r = serve_web_file(d.root.string(), p);
    const auto& csp = r.headers["Content-Security-Policy"];
    CHECK(csp.find("script-src 'self'") != std::string::npos);
    auto scripts = csp.substr(csp.find("script-src"));
    scripts = scripts.substr(0, scripts.find(';'));
    CHECK(scripts.find("unsafe") == std::string::npos);
  }
}

TEST_CASE("no path leaves the folder, API paths keep the router's 404", "[api][web]") {
  WebDir d;
  for (const char* p : {"/../secret.txt", "/assets/../../secret.txt", "/.hidden"}) {
    INFO(p);
    auto r = serve_web_file(d.root.string(), p);
    CHECK(r.file_path.find("secret") == std::string::npos);
  }
  auto api = serve_web_file(d.root.string(), "/api/v1/nope");
  CHECK(api.status == 404);
  CHECK(api.body.find("no route") != std::string::npos);
}

TEST_CASE("without a built dashboard / says how to build it", "[api][web]") {
  auto r = serve_web_file("", "/");
  CHECK(r.status == 200);
  CHECK(r.body.find("make") != std::string::npos);
  CHECK(r.headers.count("Content-Security-Policy") == 1);
}

TEST_CASE("the route is public, GET only, and loses to every literal route", "[api][web]") {
  WebDir d;
  ctflow::http::Router r;
  r.add({.method = "GET",
         .pattern = "/healthz",
         .min_role = ctflow::http::Role::None,
         .handler = [](const auto&, const auto&, const auto&) {
           return ctflow::http::text_response(200, "ok");
         }});
  ctflow::api::add_web_routes(r, d.root.string());
  ctflow::http::Request req{.method = "GET", .path = "/healthz"};
  CHECK(r.handle_request(req).body == "ok");
  req.path = "/runs/3";
  auto res = r.handle_request(req);
  CHECK(res.status == 200);
  CHECK(res.file_path == (d.root / "index.html").string());
}
