#pragma once
// Conversions between Beast messages and the router's plain Request/Response, shared by the
// server and the fuzz harness so both exercise the same path. Pure functions; any thread.
#include "scheduler/api/http/message.hpp"

#include <boost/beast/http.hpp>

#include <optional>
#include <string>

namespace ctflow::http {

namespace bhttp = boost::beast::http;
using BeastRequest = bhttp::request<bhttp::string_body>;
using BeastResponse = bhttp::response<bhttp::string_body>;

// Fills `out` from a parsed request (repeated header fields joined with ", "). Returns the 400
// response to send instead when the target is not origin-form or holds a malformed escape.
std::optional<Response> to_request(const BeastRequest& in, std::string remote_address,
                                   Request& out);

// RFC 9112 section 6 on a request's framing, checked once its header is read and before its
// body: the reason to refuse it (answer 400 and close the connection, since a proxy in front may
// have framed the bytes differently: request smuggling), or nullopt. Refused: more than one
// Content-Length field; Transfer-Encoding with Content-Length; Transfer-Encoding on HTTP/1.0;
// Transfer-Encoding other than exactly "chunked" ("chunked, identity", "identity", "gzip,
// chunked", "chunked, chunked", an empty value: this server decodes no other coding).
std::optional<std::string> framing_error(const bhttp::request_header<>& h);

// The token of "Authorization: Bearer T" (scheme case-insensitive); "" for any other value.
std::string bearer_token(std::string_view authorization);

// A complete response with Content-Length; for HEAD-less, non-streaming responses.
BeastResponse to_beast(const Response& res, unsigned version, bool keep_alive);

// A response whose body is res.file_path, with Content-Length; nullopt (and `ec` set) when the
// file cannot be opened.
std::optional<bhttp::response<bhttp::file_body>> to_beast_file(const Response& res,
                                                               unsigned version, bool keep_alive,
                                                               boost::system::error_code& ec);

// The head of a streaming response: status, headers, Transfer-Encoding: chunked, no-cache.
bhttp::response<bhttp::empty_body> stream_head(const Response& res, unsigned version);

// The response for a request Beast failed to parse: 413 for a body over the limit, 431 for
// headers over the limit, 400 otherwise. The connection is closed after it.
Response parse_error_response(const boost::system::error_code& ec);

}  // namespace ctflow::http
