// Logs (range reads and follow) and the event stream (SSE with Last-Event-ID resume).
#include <fstream>

#include "scheduler/api/http/message.hpp"
#include "scheduler/api/http/sse.hpp"
#include "scheduler/api/service.hpp"
#include "scheduler/common/json_util.hpp"
#include "scheduler/store/events.hpp"
#include "scheduler/store/runs.hpp"

namespace ctflow::api {

namespace {

// An event stream lets the commits of this long after a notification join one read.
constexpr std::chrono::milliseconds kCoalesce{20};

bool final_state(const std::string& s) {
  return s == "succeeded" || s == "failed" || s == "upstream_failed" || s == "skipped" ||
         s == "cancelled" || s == "cached";
}

// executor_ref "local:<host>:<dir>" -> "<dir>/task.log"
std::string log_file(const std::string& ref) {
  auto c1 = ref.find(':');
  auto c2 = c1 == std::string::npos ? c1 : ref.find(':', c1 + 1);
  return c2 == std::string::npos ? "" : ref.substr(c2 + 1) + "/task.log";
}

std::string read_range(const std::string& path, int64_t offset, int64_t max) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(offset);
  std::string out(static_cast<size_t>(max), '\0');
  in.read(out.data(), max);
  out.resize(static_cast<size_t>(in.gcount()));
  return out;
}

std::optional<int64_t> int_param(const Request& req, const char* name) {
  auto v = req.query_value(name);
  if (!v) return std::nullopt;
  try {
    size_t n = 0;
    long long x = std::stoll(*v, &n);
    if (n != v->size() || x < 0) return -1;
    return x;
  } catch (const std::exception&) {
    return -1;
  }
}

}  // namespace

void add_stream_routes(http::Router& r, Services& s) {
  r.add({.method = "GET",
         .pattern = "/api/v1/runs/{id}/tasks/{name}/logs",
         .summary = "A task's log (stdout and stderr): range read, or follow until it ends",
         .min_role = Role::Viewer,
         .handler = [&s](const Request& req, const PathParams& pp, const Principal&) -> Response {
           auto id = pp.get_int("id");
           if (!id) return http::bad_request("id: expected a run id", req.path);
           auto offset = int_param(req, "offset").value_or(0);
           auto attempt = int_param(req, "attempt");
           if (offset < 0 || (attempt && *attempt < 1))
             return http::bad_request("offset/attempt: expected non-negative integers", req.path);
           auto follow = req.query_bool("follow", false);
           if (!follow) return http::bad_request("follow: expected true or false", req.path);
           std::optional<store::LogRef> ref;
           {
             auto lease = s.pool.acquire();
             store::with_tx(*lease, [&](store::Tx& tx) {
               ref = store::task_log(
                   tx, *id, pp.get("name"),
                   attempt ? std::optional<int>(static_cast<int>(*attempt)) : std::nullopt);
             });
           }
           if (!ref)
             return http::not_found("no log for task \"" + pp.get("name") + "\" of run " +
                                        std::to_string(*id) + " (not started yet?)",
                                    req.path);
           std::string file = log_file(ref->path);
           if (!*follow) {
             auto r = http::text_response(200, read_range(file, offset, 4 << 20));
             r.headers["X-Task-State"] = ref->state;
             return r;
           }
           Response res;
           res.content_type = "text/plain; charset=utf-8";
           res.stream = [&s, file, offset, run = *id,
                         task = pp.get("name")](http::StreamSink& sink) {
             int64_t off = offset;
             bool done = false;
             while (sink.open()) {
               std::string chunk = read_range(file, off, 1 << 16);
               if (!chunk.empty()) {
                 off += static_cast<int64_t>(chunk.size());
                 if (!sink.write(std::move(chunk))) return;
                 continue;
               }
               if (done) return;  // final and fully sent
               std::optional<store::LogRef> now;
               {
                 auto lease = s.pool.acquire();
                 store::with_tx(*lease, [&](store::Tx& tx) {
                   now = store::task_log(tx, run, task, std::nullopt);
                 });
               }
               if (!now || final_state(now->state))
                 done = true;  // one more read, then end
               else
                 sink.wait_for(std::chrono::milliseconds(250));
             }
           };
           return res;
         },
         .query = {{"offset", "integer", "first byte to return"},
                   {"attempt", "integer", "attempt number (default: latest)"},
                   {"follow", "boolean", "stream until the task ends"}}});
  r.add({.method = "GET",
         .pattern = "/api/v1/events",
         .summary = "Server-Sent Events: run/task state changes, metrics, schedule fires",
         .min_role = Role::Viewer,
         .handler = [&s](const Request& req, const PathParams&, const Principal&) -> Response {
           std::optional<int64_t> run;
           if (auto v = req.query_value("run")) {
             try {
               run = std::stoll(*v);
             } catch (const std::exception&) {
               return http::bad_request("run: expected a run id", req.path);
             }
           }
           int64_t after = 0;
           auto last = http::last_event_id(req);
           if (!last) last = req.query_value("after");
           if (last) {
             try {
               after = std::stoll(*last);
             } catch (const std::exception&) {
               return http::bad_request("Last-Event-ID: expected an event id", req.path);
             }
           }
           return http::sse_response([&s, run, after](http::StreamSink& sink) {
             store::EventReader reader(after, run);
             uint64_t gen = s.events.generation();
             while (sink.open()) {
               store::EventReader::Batch b;
               {
                 auto lease = s.pool.acquire();
                 b = reader.read(*lease, 500);
               }
               for (auto& e : b.events) {
                 http::SseEvent se;
                 se.id = std::to_string(e.id);
                 se.event = std::move(e.kind);
                 se.data = std::move(e.data);
                 if (!sink.write(http::format_sse(se))) return;
               }
               if (b.full && !b.blocked) continue;
               // At a gap a rolled-back writer sends no notification: look again soon; and
               // sooner than the sweep while passed gaps are watched for late events.
               uint64_t seen = gen;
               gen = s.events.wait(gen, std::chrono::milliseconds(b.blocked    ? 20
                                                                  : b.watching ? 200
                                                                               : 2000));
               // Let the commits of the next few milliseconds join this read: a busy engine
               // commits every millisecond or two, and one read per commit cost the stream's
               // connection more CPU than the engine's own statements (make bench-sched). Not
               // once a run ended: whoever follows it is waiting for that event.
               if (gen != seen) s.events.settle(seen, kCoalesce);
             }
           });
         },
         .query = {{"run", "integer", "only this run's events"},
                   {"after", "integer", "resume after this event id (or Last-Event-ID)"}},
         .streaming = true,
         .query_token = true});
}

}  // namespace ctflow::api
