#include "scheduler/api/http/beast_convert.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

namespace ctflow::http {

namespace {

void copy_headers(const Headers& from, bhttp::fields& to) {
  for (const auto& [name, value] : from) to.set(name, value);
}

}  // namespace

std::string bearer_token(std::string_view authorization) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  std::string_view a = trim(authorization);
  if (a.size() < 7 || (a[6] != ' ' && a[6] != '\t')) return "";
  CaseInsensitiveLess less;
  std::string_view scheme = a.substr(0, 6);
  if (less(scheme, "bearer") || less("bearer", scheme)) return "";
  return std::string(trim(a.substr(7)));
}

std::optional<std::string> framing_error(const bhttp::request_header<>& h) {
  size_t lengths = 0, encodings = 0;
  std::string te;
  for (const auto& field : h) {
    if (field.name() == bhttp::field::content_length) ++lengths;
    if (field.name() == bhttp::field::transfer_encoding) {
      te += (encodings++ ? "," : "") + std::string(field.value());
    }
  }
  if (lengths > 1) return "more than one Content-Length header";
  if (encodings == 0) return std::nullopt;
  if (lengths) return "Transfer-Encoding together with Content-Length";
  if (h.version() < 11) return "Transfer-Encoding in an HTTP/1.0 request";
  // The codings, comma-separated with optional whitespace: exactly one, "chunked".
  std::vector<std::string> codings;
  std::string cur;
  for (char ch : te + ",") {
    if (ch == ',') {
      while (!cur.empty() && (cur.back() == ' ' || cur.back() == '\t')) cur.pop_back();
      codings.push_back(cur);
      cur.clear();
    } else if (!(cur.empty() && (ch == ' ' || ch == '\t'))) {
      cur.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
    }
  }
  if (codings.size() != 1 || codings[0] != "chunked")
    return "Transfer-Encoding must be exactly \"chunked\"";
  return std::nullopt;
}

std::optional<Response> to_request(const BeastRequest& in, std::string remote_address,
                                   Request& out) {
  out.method = std::string(in.method_string());
  std::string_view target = in.target();
  if (!split_target(target, out.path, out.query)) {
    // The path only: the query may hold an access_token, which never goes into a response.
    std::string shown(target.substr(0, std::min<size_t>(200, target.find('?'))));
    return bad_request("malformed request target", shown);
  }
  out.headers.clear();
  for (const auto& field : in) {
    std::string name(field.name_string());
    auto [it, inserted] = out.headers.emplace(name, std::string(field.value()));
    if (!inserted) it->second += ", " + std::string(field.value());
  }
  out.body = in.body();
  out.bearer_token.clear();
  if (auto auth = out.headers.find("Authorization"); auth != out.headers.end())
    out.bearer_token = bearer_token(auth->second);
  out.remote_address = std::move(remote_address);
  return std::nullopt;
}

BeastResponse to_beast(const Response& res, unsigned version, bool keep_alive) {
  BeastResponse out{static_cast<bhttp::status>(res.status), version};
  out.set(bhttp::field::server, "ctflow");
  copy_headers(res.headers, out);
  if (!res.content_type.empty()) out.set(bhttp::field::content_type, res.content_type);
  out.body() = res.body;
  out.keep_alive(keep_alive);
  out.prepare_payload();
  return out;
}

std::optional<bhttp::response<bhttp::file_body>> to_beast_file(const Response& res,
                                                               unsigned version, bool keep_alive,
                                                               boost::system::error_code& ec) {
  bhttp::file_body::value_type file;
  file.open(res.file_path.c_str(), boost::beast::file_mode::scan, ec);
  if (ec) return std::nullopt;
  bhttp::response<bhttp::file_body> out{static_cast<bhttp::status>(res.status), version};
  out.set(bhttp::field::server, "ctflow");
  copy_headers(res.headers, out);
  if (!res.content_type.empty()) out.set(bhttp::field::content_type, res.content_type);
  out.body() = std::move(file);
  out.keep_alive(keep_alive);
  out.prepare_payload();
  return out;
}

bhttp::response<bhttp::empty_body> stream_head(const Response& res, unsigned version) {
  bhttp::response<bhttp::empty_body> out{static_cast<bhttp::status>(res.status), version};
  out.set(bhttp::field::server, "ctflow");
  copy_headers(res.headers, out);
  if (!res.content_type.empty()) out.set(bhttp::field::content_type, res.content_type);
  if (out.find(bhttp::field::cache_control) == out.end())
    out.set(bhttp::field::cache_control, "no-cache");
  out.keep_alive(true);
  out.chunked(true);
  return out;
}

Response parse_error_response(const boost::system::error_code& ec) {
  if (ec == bhttp::error::body_limit)
    return payload_too_large("request body is over the server's limit", "");
  if (ec == bhttp::error::header_limit) {
    Response r = error_response(431, "headers_too_large", "request headers are over the limit", "");
    return r;
  }
  return bad_request("malformed HTTP request: " + ec.message(), "");
}

}  // namespace ctflow::http
