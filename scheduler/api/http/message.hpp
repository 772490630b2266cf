#pragma once
// Request and Response: the plain values the router works on. They know nothing about sockets or
// Beast; scheduler/api/http/beast_convert.hpp turns parsed Beast messages into these and back.
//
// Errors sent to clients are JSON: {"error": {"code": "not_found", "message": "...", "path":
// "/api/v1/runs/7"}}. `code` is a stable snake_case word a client may switch on; `message` is one
// line for a human; `path` is the request path. Build them with the helpers below.
//
// Values only: copy or move freely; no thread affinity.
#include <boost/json.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ctflow::http {

// ASCII case-insensitive ordering for header names ("Content-Type" == "content-type").
struct CaseInsensitiveLess {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const;
};

// Header fields by name, case-insensitive. A repeated field in a request is joined with ", "
// (RFC 9110 5.3), which is how every header the API reads may be combined.
using Headers = std::map<std::string, std::string, CaseInsensitiveLess>;

// Decoded query parameters in request order; a key may repeat (?state=queued&state=running).
using QueryParams = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;          // upper case as sent: "GET", "POST", ...
  std::string path;            // the target's path, still percent-encoded: "/api/v1/runs/7"
  QueryParams query;           // decoded ('+' is a space)
  Headers headers;             // every request header
  std::string body;            // at most the server's body limit
  std::string bearer_token;    // from "Authorization: Bearer T"; empty when absent
  std::string remote_address;  // "ip:port" of the peer; empty in tests that do not set it

  // First value of a query parameter, or nullopt when absent.
  std::optional<std::string> query_value(std::string_view key) const;
  // A boolean query parameter: true/1 or false/0, `def` when absent, nullopt for anything else
  // (the route answers 400).
  std::optional<bool> query_bool(std::string_view key, bool def) const;
  // Every value of a query parameter, in order.
  std::vector<std::string> query_values(std::string_view key) const;
  // A header value or nullopt.
  std::optional<std::string> header(std::string_view name) const;
};

class StreamSink;
// A streaming body (Server-Sent Events, following a log): see stream.hpp. The producer runs on a
// thread of its own, may block (on the database, on LISTEN/NOTIFY), and must return soon after
// the sink reports the client gone.
using StreamProducer = std::function<void(StreamSink&)>;

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  Headers headers;   // extra headers (Allow, WWW-Authenticate, Cache-Control, Location, ...)
  std::string body;  // ignored when `stream` is set
  // When set, the server sends the status and headers with chunked transfer encoding and then
  // whatever the producer writes, until it returns or the client goes (see stream.hpp).
  StreamProducer stream;
  // For streams: the chunk the server sends after heartbeat_interval without output, so proxies
  // and clients see a live connection (SSE: a comment line). Empty: no heartbeat.
  std::string stream_heartbeat;
  // When set (and `stream` is not), the body is this file, read by the server as it sends
  // (artifact downloads, whole log files) instead of being held in `body`. A file that cannot
  // be opened when the server sends it gives a 404 JSON error. Ranges are the handler's job.
  std::string file_path;
  // The route pattern that produced this response ("/api/v1/runs/{id}"); "" when no route
  // matched. Not sent; the server uses it as the metrics label so label values stay bounded.
  std::string route;
};

// --- Responses -------------------------------------------------------------------------------
Response json_response(int status, const boost::json::value& body);
Response text_response(int status, std::string body, std::string content_type = "text/plain");
Response no_content();  // 204

// {"error": {"code", "message", "path"}} with the given status.
Response error_response(int status, std::string_view code, std::string_view message,
                        std::string_view path);
Response bad_request(std::string_view message, std::string_view path);        // 400 bad_request
Response unauthorized(std::string_view message, std::string_view path);       // 401 unauthorized
Response forbidden(std::string_view message, std::string_view path);          // 403 forbidden
Response not_found(std::string_view message, std::string_view path);          // 404 not_found
Response conflict(std::string_view message, std::string_view path);           // 409 conflict
Response payload_too_large(std::string_view message, std::string_view path);  // 413
Response unprocessable(std::string_view message, std::string_view path);      // 422 invalid
Response internal_error(std::string_view message, std::string_view path);     // 500 internal
Response unavailable(std::string_view message, std::string_view path);        // 503 unavailable

// Parses the body as JSON. On failure returns the 400 response to send ("invalid JSON at
// offset N: ..."), so a handler writes: auto j = parse_json_body(req); if (!j.first) return ...
// Returns {value, nullopt} on success and {nullptr, response} on failure.
std::pair<boost::json::value, std::optional<Response>> parse_json_body(const Request& req);

// `in` with every byte sequence that is not well-formed UTF-8 replaced by U+FFFD, so that text
// taken from a request (a path, a parameter) can go into a JSON document. The error helpers
// above apply it to their message and path.
std::string to_valid_utf8(std::string_view in);
// Whether `in` is well-formed UTF-8 (no overlong forms, surrogates or code points over U+10FFFF).
bool is_valid_utf8(std::string_view in);

// The standard reason phrase for a status ("Not Found"); "Unknown" for unlisted codes.
std::string_view reason_phrase(int status);

// --- Targets ---------------------------------------------------------------------------------
// Percent-decodes `in` ('+' -> ' ' when plus_is_space). nullopt on a malformed escape ("%zz",
// a trailing "%"), a decoded NUL byte or a result that is not valid UTF-8 (overlong forms and
// surrogates included), which no name or id in the API may contain.
std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space);

// Splits an origin-form target ("/a/b?x=1&y") into its path and decoded query parameters.
// Returns false (and leaves the outputs unspecified) when the target does not start with '/',
// or the query holds a malformed escape.
bool split_target(std::string_view target, std::string& path, QueryParams& query);

}  // namespace ctflow::http
