// KubeClient over Beast's SSL stream (kube_client.hpp). Each call runs its own io_context on the
// calling thread; every operation has a deadline (tcp_stream::expires_after), so nothing hangs.
#include "scheduler/executor/kubernetes/kube_client.hpp"

#include <fmt/format.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <thread>

namespace ctflow::exec::k8s {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

struct KubeClient::Conn {
  net::io_context ioc;
  ssl::context ctx{ssl::context::tls_client};
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> stream;
  void close() {
    net::post(ioc, [this] {
      beast::error_code ec;
      beast::get_lowest_layer(*stream).socket().close(ec);
    });
  }
};

std::string Response::describe() const {
  if (status == 0) return "no answer from the Kubernetes API: " + error;
  std::string text = std::to_string(status);
  switch (status) {
    case 400:
      text += " Bad Request";
      break;
    case 401:
      text += " Unauthorized";
      break;
    case 403:
      text += " Forbidden";
      break;
    case 404:
      text += " Not Found";
      break;
    case 409:
      text += " Conflict";
      break;
    case 410:
      text += " Gone";
      break;
    case 422:
      text += " Unprocessable Entity";
      break;
    case 429:
      text += " Too Many Requests";
      break;
    default:
      break;
  }
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (!ec && v.is_object())
    if (const auto* m = v.as_object().if_contains("message"); m && m->is_string())
      return text + ": " + std::string(m->get_string());
  return text;
}

KubeClient::KubeClient(KubeConfig config, ClientOptions opt)
    : config_(std::move(config)), opt_(opt) {}

KubeClient::~KubeClient() {
  stop();
}

void KubeClient::stop() {
  stopped_ = true;
  MutexLock g(mu_);
  for (const auto& c : live_) c->close();
}

Response KubeClient::call(const std::string& method, const std::string& target,
                          const std::string& body) {
  Response r;
  auto delay = opt_.backoff;
  for (int i = 1; i <= opt_.max_tries && !stopped_; ++i) {
    r = once(method, target, body, nullptr, opt_.timeout);
    r.attempts = i;
    bool retry = r.status == 0 || r.status == 429 || r.status >= 500;
    if (!retry || i == opt_.max_tries) break;
    auto wait = delay;
    if (r.status == 429 || r.status == 503) {  // Retry-After in seconds (once() kept it here)
      if (auto pos = r.error.find("retry-after="); pos != std::string::npos)
        wait = std::chrono::seconds(std::atoi(r.error.c_str() + pos + 12));
    }
    std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(wait, opt_.max_backoff * 6));
    delay = std::min(delay * 2, opt_.max_backoff);
  }
  return r;
}

Response KubeClient::stream(const std::string& target,
                            const std::function<bool(std::string_view)>& on_data,
                            std::chrono::milliseconds idle) {
  return once("GET", target, "", &on_data, idle);
}

Response KubeClient::once(const std::string& method, const std::string& target,
                          const std::string& body,
                          const std::function<bool(std::string_view)>* on_data,
                          std::chrono::milliseconds idle) {
  Response out;
  if (stopped_) {
    out.error = "stopped";
    return out;
  }
  auto auth = config_.bearer();
  if (!auth) {
    out.error = auth.error();
    return out;
  }
  auto conn = std::make_shared<Conn>();
  try {
    if (!config_.ca_pem.empty()) {
      conn->ctx.add_certificate_authority(net::buffer(config_.ca_pem));
    } else {
      conn->ctx.set_default_verify_paths();
    }
    conn->ctx.set_verify_mode(config_.insecure ? ssl::verify_none : ssl::verify_peer);
    if (!config_.client_cert_pem.empty()) {
      conn->ctx.use_certificate_chain(net::buffer(config_.client_cert_pem));
      conn->ctx.use_private_key(net::buffer(config_.client_key_pem), ssl::context::pem);
    }
  } catch (const std::exception& e) {
    out.error = std::string("bad TLS material in ") + config_.source + ": " + e.what();
    return out;
  }
  conn->stream = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(conn->ioc, conn->ctx);
  auto& s = *conn->stream;
  if (!config_.insecure) s.set_verify_callback(ssl::host_name_verification(config_.host));
  SSL_set_tlsext_host_name(s.native_handle(), config_.host.c_str());
  {
    MutexLock g(mu_);
    live_.insert(conn);
  }
  struct Unregister {
    KubeClient* c;
    std::shared_ptr<Conn> conn;
    ~Unregister() {
      MutexLock g(c->mu_);
      c->live_.erase(conn);
    }
  } unregister{this, conn};
  if (stopped_) {  // stop() ran before we were listed
    out.error = "stopped";
    return out;
  }
  beast::error_code ec;
  auto run = [&](std::chrono::milliseconds t, auto start) {
    beast::get_lowest_layer(s).expires_after(t);
    ec = {};
    start();
    conn->ioc.restart();
    conn->ioc.run();
  };
  tcp::resolver resolver(conn->ioc);
  tcp::resolver::results_type endpoints;
  run(opt_.timeout, [&] {
    resolver.async_resolve(config_.host, config_.port,
                           [&](beast::error_code e, tcp::resolver::results_type r) {
                             ec = e;
                             endpoints = std::move(r);
                           });
  });
  if (!ec)
    run(opt_.timeout, [&] {
      beast::get_lowest_layer(s).async_connect(
          endpoints, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
    });
  if (!ec)
    run(opt_.timeout,
        [&] { s.async_handshake(ssl::stream_base::client, [&](beast::error_code e) { ec = e; }); });
  if (ec) {
    out.error = fmt::format("{}:{}: {}", config_.host, config_.port, ec.message());
    return out;
  }
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, config_.host);
  req.set(http::field::user_agent, "ctflow");
  req.set(http::field::accept, "application/json");
  if (!auth->empty()) req.set(http::field::authorization, *auth);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();
  run(opt_.timeout,
      [&] { http::async_write(s, req, [&](beast::error_code e, size_t) { ec = e; }); });
  if (ec) {
    out.error = "sending " + method + " " + target + ": " + ec.message();
    return out;
  }
  beast::flat_buffer buf;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  run(opt_.timeout, [&] {
    http::async_read_header(s, buf, parser, [&](beast::error_code e, size_t) { ec = e; });
  });
  if (ec) {
    out.error = "reading the answer to " + method + " " + target + ": " + ec.message();
    return out;
  }
  out.status = static_cast<int>(parser.get().result_int());
  if (auto ra = parser.get().find(http::field::retry_after); ra != parser.get().end())
    out.error = "retry-after=" + std::string(ra->value());
  bool streaming = on_data && out.ok();
  char chunk[16384];
  while (!parser.is_done()) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    run(streaming ? idle : opt_.timeout, [&] {
      http::async_read_some(s, buf, parser, [&](beast::error_code e, size_t) { ec = e; });
    });
    if (ec == http::error::need_buffer) ec = {};
    size_t n = sizeof chunk - parser.get().body().size;
    if (n > 0) {
      if (streaming) {
        if (!(*on_data)(std::string_view(chunk, n))) break;
      } else if (out.body.size() < (64u << 20)) {
        out.body.append(chunk, n);
      }
    }
    if (ec) {
      if (ec != http::error::end_of_stream) out.error = ec.message();
      break;
    }
  }
  beast::error_code ignored;
  beast::get_lowest_layer(s).socket().shutdown(tcp::socket::shutdown_both, ignored);
  return out;
}

}  // namespace ctflow::exec::k8s
