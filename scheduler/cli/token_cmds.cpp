// `ctflow token create|list|revoke`: API tokens through /api/v1/tokens (admin token needed).
#include <iostream>

#include "scheduler/cli/client.hpp"
#include "scheduler/cli/commands.hpp"
#include "scheduler/common/json_util.hpp"

namespace ctflow::cli {

static int report(const Result<HttpReply>& r, int expected) {
  if (!r) {
    std::cerr << "error: " << r.error() << "\n";
    return 2;
  }
  if (r->status != expected) {
    std::cerr << "error: " << error_text(*r) << "\n";
    return 2;
  }
  return 0;
}

int cmd_token_create(const ClientFlags& c, const std::string& role, const std::string& ttl,
                     const std::string& name) {
  Client client(resolve_url(c), resolve_token(c));
  json::object body{{"role", role}, {"name", name}};
  if (!ttl.empty()) body["ttl"] = ttl;
  auto r = client.request("POST", "/api/v1/tokens", json::serialize(body));
  if (int rc = report(r, 201)) return rc;
  if (c.output == "json") {
    std::cout << r->body << "\n";
    return 0;
  }
  auto o = json::parse(r->body).as_object();
  std::cout << get_string(o, "token") << "\n";
  std::cerr << "token " << get_string(o, "id") << " (" << role
            << "): shown once; store it, e.g. in a file for --token-file\n";
  return 0;
}

int cmd_token_list(const ClientFlags& c) {
  Client client(resolve_url(c), resolve_token(c));
  auto r = client.request("GET", "/api/v1/tokens");
  if (int rc = report(r, 200)) return rc;
  if (c.output == "json") {
    std::cout << r->body << "\n";
    return 0;
  }
  std::printf("%-6s %-9s %-22s %-22s %-22s %s\n", "ID", "ROLE", "CREATED", "EXPIRES", "REVOKED",
              "NAME");
  for (const auto& t : json::parse(r->body).as_object()["tokens"].as_array()) {
    const auto& o = t.as_object();
    auto s = [&](const char* k) {
      auto v = get_string(o, k);
      return v.empty() ? std::string("-") : v;
    };
    std::printf("%-6s %-9s %-22s %-22s %-22s %s\n", s("id").c_str(), s("role").c_str(),
                s("created_at").c_str(), s("expires_at").c_str(), s("revoked_at").c_str(),
                s("name").c_str());
  }
  return 0;
}

int cmd_token_revoke(const ClientFlags& c, const std::string& id) {
  Client client(resolve_url(c), resolve_token(c));
  auto r = client.request("DELETE", "/api/v1/tokens/" + id);
  if (int rc = report(r, 204)) return rc;
  std::cout << "revoked token " << id << "\n";
  return 0;
}

}  // namespace ctflow::cli
