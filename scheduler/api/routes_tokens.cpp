// API tokens (admin only): create (the secret is shown once), list, revoke.
#include <random>

#include "scheduler/api/http/message.hpp"
#include "scheduler/api/service.hpp"
#include "scheduler/common/sha256.hpp"
#include "scheduler/common/time_util.hpp"
#include "scheduler/store/tokens.hpp"

namespace ctflow::api {

std::string new_token_secret() {
  std::random_device rd;
  static const char* kHex = "0123456789abcdef";
  std::string out = "ctf_";
  for (int i = 0; i < 24; ++i) {
    unsigned v = rd() & 0xff;
    out.push_back(kHex[v >> 4]);
    out.push_back(kHex[v & 15]);
  }
  return out;
}

void add_token_routes(http::Router& r, Services& s) {
  r.add({.method = "POST",
         .pattern = "/api/v1/tokens",
         .summary = "Create a token {role: viewer|operator|admin, ttl: \"30d\", name}; the secret "
                    "is returned once",
         .min_role = Role::Admin,
         .handler =
             [&s](const Request& req, const PathParams&, const Principal&) {
               auto [body, err] = http::parse_json_body(req);
               if (err) return *err;
               if (!body.is_object())
                 return http::bad_request("body: expected an object", req.path);
               const auto& o = body.as_object();
               auto* role = o.if_contains("role");
               if (!role || !role->is_string() || !http::parse_role(role->get_string()) ||
                   role->get_string() == "none")
                 return http::bad_request("role: expected viewer, operator or admin", req.path);
               std::optional<int64_t> ttl;
               if (auto* t = o.if_contains("ttl"); t && !t->is_null()) {
                 auto d = t->is_string() ? parse_duration(t->get_string()) : std::nullopt;
                 if (!d || d->count() <= 0)
                   return http::bad_request("ttl: expected a duration such as 12h or 30d",
                                            req.path);
                 ttl = d->count() / 1000;
               }
               std::string name;
               if (auto* n = o.if_contains("name"); n && n->is_string())
                 name = std::string(n->get_string());
               std::string secret = new_token_secret();
               int64_t id = 0;
               auto lease = s.pool.acquire();
               store::with_tx(*lease, [&](store::Tx& tx) {
                 id = store::create_token(tx, sha256_hex(secret), std::string(role->get_string()),
                                          name, ttl);
               });
               return http::json_response(201, boost::json::object{{"id", std::to_string(id)},
                                                                   {"token", secret},
                                                                   {"role", role->get_string()}});
             },
         .success_status = 201});
  r.add(list_route(s, "/api/v1/tokens", "List tokens (never their secrets)", Role::Admin, "tokens",
                   store::list_tokens));
  r.add({.method = "DELETE",
         .pattern = "/api/v1/tokens/{id}",
         .summary = "Revoke a token",
         .min_role = Role::Admin,
         .handler =
             [&s](const Request& req, const PathParams& pp, const Principal&) {
               auto lease = s.pool.acquire();
               bool ok = false;
               store::with_tx(*lease,
                              [&](store::Tx& tx) { ok = store::revoke_token(tx, pp.get("id")); });
               if (!ok)
                 return http::not_found("token " + pp.get("id") + " does not exist or is revoked",
                                        req.path);
               return http::no_content();
             },
         .success_status = 204});
}

}  // namespace ctflow::api
