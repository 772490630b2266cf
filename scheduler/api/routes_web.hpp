#pragma once
// The browser dashboard (web/, built by Vite into web/dist) served at `/` on the API's port.
//
// GET /{path*} answers a file of the dashboard's folder: hashed files under assets/ are cached
// as immutable, index.html never (so a new build is seen at once), and any other path that is not
// a file (a client route such as /runs/12) answers index.html, so a reload or a shared link
// works. Paths under /api/ that no API route matched keep the router's JSON 404. Every answer
// carries a Content-Security-Policy without inline scripts. Without a built dashboard, / answers
// a short page that says how to build it. No Node at run time.
//
// Threads: the handler only reads files; it may run on any number of worker threads at once.
#include <string>

#include "scheduler/api/http/router.hpp"

namespace ctflow::api {

// The dashboard folder: $CTFLOW_WEB_DIR, else the first of <exe dir>/web, <exe dir>/../web/dist
// and the source tree's web/dist that holds an index.html; "" when none does.
std::string find_web_dir(const std::string& exe_path);

// Registers GET /{path*} serving `web_dir` (may be "": the "not built" page).
void add_web_routes(http::Router& r, std::string web_dir);

// The pure part, for tests: the response for a decoded request path under `web_dir`.
http::Response serve_web_file(const std::string& web_dir, const std::string& path);

}  // namespace ctflow::api
