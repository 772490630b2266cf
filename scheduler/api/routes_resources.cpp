// Retry-failed, run metrics (downsampled for charts) and artifacts (metadata and download).
#include "scheduler/api/http/message.hpp"
#include "scheduler/api/service.hpp"
#include "scheduler/common/log.hpp"
#include "scheduler/store/resources.hpp"

#include <filesystem>

namespace ctflow::api {

namespace {

// "sha256:<hex>" or "<hex>": 64 hex digits, returned in lower case; nullopt otherwise.
std::optional<std::string> parse_digest(std::string d) {
  if (d.rfind("sha256:", 0) == 0) d = d.substr(7);
  if (d.size() != 64) return std::nullopt;
  for (auto& c : d) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  return d;
}

// Whether `path` is a stored artifact this server may hand out: a regular file itself (not a
// symlink a task planted to make the server read, say, the admin token for a viewer), directly
// in the store's sha256/<2 hex>/ folder under <data dir>/artifacts, named by `digest`.
bool servable_artifact(const std::string& data_dir, const std::string& digest,
                       const std::string& path) {
  namespace fs = std::filesystem;
  std::string expect = data_dir + "/artifacts/sha256/" + digest.substr(0, 2) + "/" + digest;
  if (fs::path(path).lexically_normal() != fs::path(expect).lexically_normal()) return false;
  std::error_code ec;
  if (!fs::is_regular_file(fs::symlink_status(path, ec)) || ec) return false;
  // Each folder on the way is a real folder too (a planted sha256/ab -> / would pass above).
  for (fs::path dir = fs::path(path).parent_path();
       dir != fs::path(data_dir) && dir.has_parent_path(); dir = dir.parent_path()) {
    if (!fs::is_directory(fs::symlink_status(dir, ec)) || ec) return false;
    if (dir == fs::path(data_dir) / "artifacts") break;
  }
  return true;
}

Response bad_digest(const Request& req) {
  return http::bad_request(
      "digest: expected 64 hex digits (sha256), optionally \"sha256:\"-prefixed", req.path);
}

Response retry_run(Services& s, const Request& req, const PathParams& pp) {
  auto id = pp.get_int("id");
  if (!id) return http::bad_request("id: expected a run id", req.path);
  store::RetryOutcome out;
  {
    auto lease = s.pool.acquire();
    store::with_tx(*lease, [&](store::Tx& tx) { out = store::retry_failed(tx, *id); });
  }
  std::string run = "run " + std::to_string(*id);
  using K = store::RetryOutcome::Kind;
  switch (out.kind) {
    case K::NotFound:
      return http::not_found(run + " does not exist", req.path);
    case K::NotFailed:
      return http::conflict(run + " is " + out.state + "; only a failed run can be retried",
                            req.path);
    case K::NotRetriable:
      return http::conflict(run +
                                " has no failed task that can be retried (a run timeout, or a "
                                "failed hpo study: submit a new run)",
                            req.path);
    case K::Retried:
      break;
  }
  if (s.wake_engine) s.wake_engine();
  s.events.poke();
  boost::json::array tasks;
  for (const auto& t : out.tasks) tasks.emplace_back(t);
  return http::json_response(
      202, boost::json::object{
               {"id", std::to_string(*id)}, {"state", out.state}, {"retried", std::move(tasks)}});
}

Response run_metrics(Services& s, const Request& req, const PathParams& pp) {
  auto id = pp.get_int("id");
  if (!id) return http::bad_request("id: expected a run id", req.path);
  store::MetricQuery q;
  q.run_id = *id;
  q.task = req.query_value("task");
  q.name = req.query_value("name");
  if (auto v = req.query_value("max_points")) {
    size_t n = 0;
    try {
      q.max_points = std::stoi(*v, &n);
    } catch (const std::exception&) {
      n = 0;
    }
    if (n != v->size() || q.max_points < 1 || q.max_points > 10000)
      return http::bad_request("max_points: expected a number 1-10000", req.path);
  }
  std::optional<boost::json::object> out;
  auto lease = s.pool.acquire();
  store::with_tx(*lease, [&](store::Tx& tx) { out = store::run_metrics(tx, q); });
  if (!out) return http::not_found("run " + std::to_string(*id) + " does not exist", req.path);
  return http::json_response(200, *out);
}

}  // namespace

void add_resource_routes(http::Router& r, Services& s) {
  r.add({.method = "POST",
         .pattern = "/api/v1/runs/{id}/retry",
         .summary = "Retry the failed and upstream_failed tasks of a failed run (new attempts, "
                    "fresh retry budget; succeeded tasks keep their results); 409 unless failed",
         .min_role = Role::Operator,
         .handler = [&s](const Request& req, const PathParams& pp,
                         const Principal&) { return retry_run(s, req, pp); },
         .tag = "runs",
         .success_status = 202});
  r.add({.method = "GET",
         .pattern = "/api/v1/runs/{id}/metrics",
         .summary = "A run's metrics, one series per task and name, downsampled to max_points "
                    "buckets by step (min, max, last per bucket)",
         .min_role = Role::Viewer,
         .handler = [&s](const Request& req, const PathParams& pp,
                         const Principal&) { return run_metrics(s, req, pp); },
         .tag = "runs",
         .query = {{"task", "string", "only this task (or trial task)"},
                   {"name", "string", "only this metric"},
                   {"max_points", "integer", "buckets per series, 1-10000 (default 200)"}}});
  r.add({.method = "GET",
         .pattern = "/api/v1/artifacts/{digest}",
         .summary = "An artifact's metadata: size, the tasks that produced and read it, the model "
                    "versions that hold it",
         .min_role = Role::Viewer,
         .handler = [&s](const Request& req, const PathParams& pp, const Principal&) {
           auto d = parse_digest(pp.get("digest"));
           if (!d) return bad_digest(req);
           std::optional<boost::json::object> out;
           auto lease = s.pool.acquire();
           store::with_tx(*lease, [&](store::Tx& tx) { out = store::get_artifact(tx, *d); });
           if (!out) return http::not_found("artifact " + *d + " does not exist", req.path);
           return http::json_response(200, *out);
         }});
  r.add({.method = "GET",
         .pattern = "/api/v1/artifacts/{digest}/content",
         .summary = "Download an artifact's content (application/octet-stream)",
         .min_role = Role::Viewer,
         .handler = [&s](const Request& req, const PathParams& pp, const Principal&) {
           auto d = parse_digest(pp.get("digest"));
           if (!d) return bad_digest(req);
           std::optional<std::string> path;
           {
             auto lease = s.pool.acquire();
             store::with_tx(*lease, [&](store::Tx& tx) { path = store::artifact_path(tx, *d); });
           }
           if (!path) return http::not_found("artifact " + *d + " does not exist", req.path);
           if (!servable_artifact(s.data_dir, *d, *path)) {
             log::warn("api: artifact {}: {} is not a regular file in the store; not served", *d,
                       *path);
             return http::not_found("artifact " + *d + ": its content is not in the store",
                                    req.path);
           }
           Response res;
           res.content_type = "application/octet-stream";
           res.file_path = *path;  // the server answers 404 if the store lost the file
           res.headers["Content-Disposition"] = "attachment; filename=\"" + *d + "\"";
           res.headers["ETag"] = "\"" + *d + "\"";
           return res;
         }});
}

}  // namespace ctflow::api
