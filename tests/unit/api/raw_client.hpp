#pragma once
// A blocking TCP client over plain POSIX sockets for the server tests: sends raw bytes and reads
// raw bytes with a deadline, so the tests see exactly what goes over the wire.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace ctflow::http::testing {

class RawClient {
 public:
  explicit RawClient(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawClient() { close(); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  bool send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads what arrives within `timeout` until `until` appears in the data received so far (or,
  // with an empty `until`, until the peer closes). Returns everything read by this call;
  // closed() then says whether the peer closed (EOF or reset).
  std::string read_until(std::string_view until, std::chrono::milliseconds timeout) {
    std::string got;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (until.empty() || got.find(until) == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buf[65536];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      got.append(buf, static_cast<size_t>(n));
    }
    return got;
  }

  // Whatever one recv() returns within `timeout`; "" on timeout or when the peer closed.
  std::string read_some(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return "";
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      closed_ = true;
      return "";
    }
    return std::string(buf, static_cast<size_t>(n));
  }

  // Reads one complete response with a Content-Length body.
  std::string read_response(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::string got = pending_ + read_until("\r\n\r\n", timeout);
    pending_.clear();
    size_t head_end = got.find("\r\n\r\n");
    if (head_end == std::string::npos) return got;
    size_t length = 0;
    for (std::string_view key : {"Content-Length: ", "content-length: "}) {
      size_t p = got.find(key);
      if (p != std::string::npos && p < head_end) length = std::stoul(got.substr(p + key.size()));
    }
    size_t want = head_end + 4 + length;
    while (got.size() < want && !closed_) {
      std::string more = read_some(timeout);
      if (more.empty()) break;
      got += more;
    }
    pending_ = got.size() > want ? got.substr(want) : "";
    return got.substr(0, want);
  }

  bool closed() const { return closed_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
  std::string pending_;
};

}  // namespace ctflow::http::testing
