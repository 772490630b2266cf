#pragma once
// Server-Sent Events wire format (WHATWG HTML, "Server-sent events"): one event is a block of
// "field: value" lines ended by a blank line. Pure functions; any thread.
#include "scheduler/api/http/message.hpp"
#include "scheduler/api/http/stream.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace ctflow::http {

struct SseEvent {
  std::string id;     // "id:" line when not empty; the client echoes it as Last-Event-ID
  std::string event;  // "event:" line when not empty (the client's listener name)
  std::string data;   // one "data:" line per line of text ("\n", "\r\n" or "\r" separated)
  std::optional<int> retry_ms;  // "retry:" line: the client's reconnection delay
};

// The text of one event, ending with the blank line. Carriage returns and newlines inside `id`
// and `event` would end the field early, so they are removed.
std::string format_sse(const SseEvent& e);

// A comment line (": text\n\n"); clients ignore it. Used as the heartbeat.
std::string sse_comment(std::string_view text);

// The Last-Event-ID a reconnecting client sends (header, or `last_event_id` query parameter
// for clients that cannot set headers); nullopt when absent or empty.
std::optional<std::string> last_event_id(const Request& req);

// A 200 text/event-stream response with Cache-Control: no-cache, X-Accel-Buffering: no and a
// heartbeat comment; the server sends Connection: keep-alive.
Response sse_response(StreamProducer producer);

}  // namespace ctflow::http
