#include "scheduler/api/http/message.hpp"

#include <algorithm>

namespace ctflow::http {

namespace json = boost::json;

namespace {

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool CaseInsensitiveLess::operator()(std::string_view a, std::string_view b) const {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                      [](char x, char y) { return lower(x) < lower(y); });
}

std::optional<std::string> Request::query_value(std::string_view key) const {
  for (const auto& [k, v] : query)
    if (k == key) return v;
  return std::nullopt;
}

std::optional<bool> Request::query_bool(std::string_view key, bool def) const {
  auto v = query_value(key);
  if (!v) return def;
  if (*v == "true" || *v == "1") return true;
  if (*v == "false" || *v == "0") return false;
  return std::nullopt;
}

std::vector<std::string> Request::query_values(std::string_view key) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : query)
    if (k == key) out.push_back(v);
  return out;
}

std::optional<std::string> Request::header(std::string_view name) const {
  auto it = headers.find(name);
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

Response json_response(int status, const json::value& body) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = json::serialize(body);
  return r;
}

Response text_response(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

Response no_content() {
  Response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

Response error_response(int status, std::string_view code, std::string_view message,
                        std::string_view path) {
  json::object err;
  err["code"] = code;
  err["message"] = to_valid_utf8(message);
  err["path"] = to_valid_utf8(path);
  return json_response(status, json::object{{"error", std::move(err)}});
}

Response bad_request(std::string_view m, std::string_view p) {
  return error_response(400, "bad_request", m, p);
}
Response unauthorized(std::string_view m, std::string_view p) {
  Response r = error_response(401, "unauthorized", m, p);
  r.headers["WWW-Authenticate"] = "Bearer realm=\"ctflow\"";
  return r;
}
Response forbidden(std::string_view m, std::string_view p) {
  return error_response(403, "forbidden", m, p);
}
Response not_found(std::string_view m, std::string_view p) {
  return error_response(404, "not_found", m, p);
}
Response conflict(std::string_view m, std::string_view p) {
  return error_response(409, "conflict", m, p);
}
Response payload_too_large(std::string_view m, std::string_view p) {
  return error_response(413, "payload_too_large", m, p);
}
Response unprocessable(std::string_view m, std::string_view p) {
  return error_response(422, "invalid", m, p);
}
Response internal_error(std::string_view m, std::string_view p) {
  return error_response(500, "internal", m, p);
}
Response unavailable(std::string_view m, std::string_view p) {
  return error_response(503, "unavailable", m, p);
}

std::pair<json::value, std::optional<Response>> parse_json_body(const Request& req) {
  json::error_code ec;
  json::parse_options opt;
  opt.max_depth = 64;  // a deeply nested body is an attack, not a pipeline
  json::value v = json::parse(req.body, ec, {}, opt);
  if (ec) {
    std::string msg =
        req.body.empty() ? "request body is empty; expected JSON" : "invalid JSON: " + ec.message();
    return {nullptr, bad_request(msg, req.path)};
  }
  return {std::move(v), std::nullopt};
}

namespace {

// A UTF-8 sequence starting with `lead`: its length (0: not a valid lead byte) and the allowed
// range of its second byte, which rules out overlong forms, surrogates and code points above
// U+10FFFF (RFC 3629, section 4).
struct Utf8Lead {
  size_t len;
  unsigned char lo, hi;
};

Utf8Lead utf8_lead(unsigned char lead) {
  if (lead < 0x80) return {1, 0, 0};
  if (lead >= 0xC2 && lead <= 0xDF) return {2, 0x80, 0xBF};
  if (lead == 0xE0) return {3, 0xA0, 0xBF};
  if (lead == 0xED) return {3, 0x80, 0x9F};
  if (lead >= 0xE1 && lead <= 0xEF) return {3, 0x80, 0xBF};
  if (lead == 0xF0) return {4, 0x90, 0xBF};
  if (lead >= 0xF1 && lead <= 0xF3) return {4, 0x80, 0xBF};
  if (lead == 0xF4) return {4, 0x80, 0x8F};
  return {0, 0, 0};
}

}  // namespace

bool is_valid_utf8(std::string_view in) {
  for (size_t i = 0; i < in.size();) {
    auto byte = [&](size_t k) { return static_cast<unsigned char>(in[i + k]); };
    Utf8Lead lead = utf8_lead(byte(0));
    if (lead.len == 0 || i + lead.len > in.size()) return false;
    for (size_t k = 1; k < lead.len; ++k) {
      bool ok = k == 1 ? (byte(k) >= lead.lo && byte(k) <= lead.hi)
                       : (byte(k) >= 0x80 && byte(k) <= 0xBF);
      if (!ok) return false;
    }
    i += lead.len;
  }
  return true;
}

std::string to_valid_utf8(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size();) {
    auto byte = [&](size_t k) { return static_cast<unsigned char>(in[i + k]); };
    Utf8Lead lead = utf8_lead(byte(0));
    bool ok = lead.len > 0 && i + lead.len <= in.size();
    for (size_t k = 1; ok && k < lead.len; ++k)
      ok = k == 1 ? (byte(k) >= lead.lo && byte(k) <= lead.hi)
                  : (byte(k) >= 0x80 && byte(k) <= 0xBF);
    if (ok) {
      out.append(in.substr(i, lead.len));
      i += lead.len;
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD, for one byte
      ++i;
    }
  }
  return out;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      if (c == '\0') return std::nullopt;
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    out.push_back(c);
  }
  // Names and ids go to PostgreSQL as text, which holds only valid UTF-8: refuse the rest here
  // (400), not there (a 500 from "invalid byte sequence").
  if (!is_valid_utf8(out)) return std::nullopt;
  return out;
}

bool split_target(std::string_view target, std::string& path, QueryParams& query) {
  if (target.empty() || target.front() != '/') return false;
  size_t q = target.find('?');
  std::string_view p = target.substr(0, q);
  size_t hash = p.find('#');  // a fragment is never sent, but tolerate it
  path.assign(p.substr(0, hash));
  query.clear();
  if (q == std::string_view::npos) return true;
  std::string_view rest = target.substr(q + 1);
  if (size_t h = rest.find('#'); h != std::string_view::npos) rest = rest.substr(0, h);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view part = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    auto key = percent_decode(part.substr(0, eq), true);
    auto value = percent_decode(eq == std::string_view::npos ? "" : part.substr(eq + 1), true);
    if (!key || !value) return false;
    query.emplace_back(std::move(*key), std::move(*value));
  }
  return true;
}

}  // namespace ctflow::http
