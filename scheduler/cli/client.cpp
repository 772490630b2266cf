#include "scheduler/cli/client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

namespace ctflow::cli {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

Client::Client(std::string base, std::string token)
    : base_(std::move(base)), token_(std::move(token)) {
  while (!base_.empty() && base_.back() == '/') base_.pop_back();
  auto u = boost::urls::parse_uri(base_);
  if (u && u->scheme() == "http" && !u->host().empty()) {
    host_ = u->host();
    port_ = u->has_port() ? std::string(u->port()) : "80";
    valid_ = true;
  }
}

static std::string one_line(const std::exception& e) {
  // system_error's what() carries Boost's source location; keep the plain reason.
  if (auto* se = dynamic_cast<const boost::system::system_error*>(&e)) return se->code().message();
  std::string s = e.what();
  for (auto& c : s)
    if (c == '\n') c = ' ';
  return s;
}

Result<HttpReply> Client::request(const std::string& method, const std::string& target,
                                  const std::string& body) {
  if (!valid_) return Error{"server URL " + base_ + ": expected http://HOST:PORT"};
  try {
    asio::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    stream.expires_after(std::chrono::seconds(30));
    stream.connect(resolver.resolve(host_, port_));
    bhttp::request<bhttp::string_body> req(bhttp::string_to_verb(method), target, 11);
    req.set(bhttp::field::host, host_);
    req.set(bhttp::field::user_agent, "ctflow-cli");
    if (!token_.empty()) req.set(bhttp::field::authorization, "Bearer " + token_);
    if (!body.empty()) {
      req.set(bhttp::field::content_type, "application/json");
      req.body() = body;
    }
    req.prepare_payload();
    bhttp::write(stream, req);
    beast::flat_buffer buf;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(256 << 20);
    bhttp::read(stream, buf, parser);
    auto& res = parser.get();
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    return HttpReply{static_cast<int>(res.result_int()), res.body(),
                     std::string(res[bhttp::field::content_type])};
  } catch (const std::exception& e) {
    return Error{"cannot reach the ctflow server at " + base_ + ": " + one_line(e)};
  }
}

Result<int> Client::stream(const std::string& target, const std::string& last_event_id,
                           const std::function<bool(std::string_view)>& on_data) {
  if (!valid_) return Error{"server URL " + base_ + ": expected http://HOST:PORT"};
  try {
    asio::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    stream.expires_after(std::chrono::seconds(30));
    stream.connect(resolver.resolve(host_, port_));
    bhttp::request<bhttp::empty_body> req(bhttp::verb::get, target, 11);
    req.set(bhttp::field::host, host_);
    req.set(bhttp::field::accept, "text/event-stream");
    if (!token_.empty()) req.set(bhttp::field::authorization, "Bearer " + token_);
    if (!last_event_id.empty()) req.set("Last-Event-ID", last_event_id);
    bhttp::write(stream, req);
    beast::flat_buffer buf;
    bhttp::response_parser<bhttp::buffer_body> parser;
    parser.body_limit(boost::none);
    stream.expires_after(std::chrono::seconds(60));
    bhttp::read_header(stream, buf, parser);
    int status = static_cast<int>(parser.get().result_int());
    if (status != 200) {
      std::string body;
      char tmp[4096];
      while (!parser.is_done()) {
        parser.get().body().data = tmp;
        parser.get().body().size = sizeof tmp;
        beast::error_code ec;
        bhttp::read(stream, buf, parser, ec);
        body.append(tmp, sizeof tmp - parser.get().body().size);
        if (ec && ec != bhttp::error::need_buffer) break;
      }
      on_data(body);
      return status;
    }
    char tmp[8192];
    while (!parser.is_done()) {
      parser.get().body().data = tmp;
      parser.get().body().size = sizeof tmp;
      // Heartbeats arrive every 15 s; a silent minute means the server is gone.
      stream.expires_after(std::chrono::seconds(60));
      beast::error_code ec;
      bhttp::read_some(stream, buf, parser, ec);
      size_t n = sizeof tmp - parser.get().body().size;
      if (n && !on_data(std::string_view(tmp, n))) return status;
      if (ec == bhttp::error::need_buffer) continue;
      if (ec) return Error{"stream from " + base_ + " ended: " + ec.message()};
    }
    return status;
  } catch (const std::exception& e) {
    return Error{"cannot reach the ctflow server at " + base_ + ": " + one_line(e)};
  }
}

std::string error_text(const HttpReply& r) {
  boost::json::error_code ec;
  auto v = boost::json::parse(r.body, ec);
  if (!ec && v.is_object()) {
    if (auto* e = v.as_object().if_contains("error"); e && e->is_object()) {
      const auto& o = e->as_object();
      std::string msg = o.contains("message") && o.at("message").is_string()
                            ? std::string(o.at("message").as_string())
                            : "";
      if (auto* d = o.if_contains("details"); d && d->is_array() && !d->as_array().empty()) {
        msg.clear();
        for (const auto& l : d->as_array())
          if (l.is_string()) msg += (msg.empty() ? "" : "\n") + std::string(l.as_string());
      }
      return msg;
    }
  }
  return "HTTP " + std::to_string(r.status) + ": " + r.body.substr(0, 200);
}

}  // namespace ctflow::cli
