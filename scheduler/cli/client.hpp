#pragma once
// A small blocking HTTP/1.1 client for the CLI verbs (Boost.Beast). One connection per request;
// streams (SSE, log follow) deliver chunks to a callback as they arrive.
#include <boost/json.hpp>

#include <functional>
#include <optional>
#include <string>

#include "scheduler/common/result.hpp"

namespace ctflow::cli {

struct HttpReply {
  int status = 0;
  std::string body;
  std::string content_type;
};

class Client {
 public:
  // `base` like "http://127.0.0.1:8080"; `token` may be empty.
  Client(std::string base, std::string token);
  // Errors are transport failures ("cannot reach http://...: Connection refused").
  Result<HttpReply> request(const std::string& method, const std::string& target,
                            const std::string& body = "");
  // GET a streaming resource; `on_data` gets each piece of body as it arrives and returns false
  // to stop. Returns the status (or a transport error).
  Result<int> stream(const std::string& target, const std::string& last_event_id,
                     const std::function<bool(std::string_view)>& on_data);
  const std::string& base() const { return base_; }

 private:
  std::string base_, host_, port_, token_;
  bool valid_ = false;
};

// The "error.message" (and details) of an API error body, or the raw body.
std::string error_text(const HttpReply& r);

}  // namespace ctflow::cli
