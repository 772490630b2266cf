#include "scheduler/api/http/sse.hpp"

namespace ctflow::http {

namespace {

std::string one_line(std::string_view s) {
  std::string out;
  for (char c : s)
    if (c != '\r' && c != '\n') out.push_back(c);
  return out;
}

}  // namespace

std::string format_sse(const SseEvent& e) {
  std::string out;
  if (!e.id.empty()) out += "id: " + one_line(e.id) + "\n";
  if (!e.event.empty()) out += "event: " + one_line(e.event) + "\n";
  if (e.retry_ms) out += "retry: " + std::to_string(*e.retry_ms) + "\n";
  // Every line of data gets its own field; the client joins them back with "\n".
  std::string_view d = e.data;
  size_t start = 0;
  for (size_t i = 0; i <= d.size(); ++i) {
    if (i == d.size() || d[i] == '\n' || d[i] == '\r') {
      out += "data: ";
      out.append(d.substr(start, i - start));
      out += "\n";
      if (i + 1 < d.size() && d[i] == '\r' && d[i + 1] == '\n') ++i;
      start = i + 1;
    }
  }
  out += "\n";
  return out;
}

std::string sse_comment(std::string_view text) {
  return ": " + one_line(text) + "\n\n";
}

std::optional<std::string> last_event_id(const Request& req) {
  auto v = req.header("Last-Event-ID");
  if (!v || v->empty()) v = req.query_value("last_event_id");
  if (!v || v->empty()) return std::nullopt;
  return v;
}

Response sse_response(StreamProducer producer) {
  Response r;
  r.status = 200;
  r.content_type = "text/event-stream";
  r.headers["Cache-Control"] = "no-cache";
  r.headers["X-Accel-Buffering"] = "no";  // nginx: do not buffer the stream
  r.stream = std::move(producer);
  r.stream_heartbeat = sse_comment("heartbeat");
  return r;
}

}  // namespace ctflow::http
