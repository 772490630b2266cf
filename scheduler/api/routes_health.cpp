// Health, readiness, Prometheus metrics, token authentication, and the list-route helper.
#include "scheduler/api/http/message.hpp"
#include "scheduler/api/service.hpp"
#include "scheduler/common/sha256.hpp"
#include "scheduler/store/migrate.hpp"
#include "scheduler/store/tokens.hpp"

namespace ctflow::api {

http::Route list_route(Services& s, std::string pattern, std::string summary, Role role,
                       std::string key, std::function<boost::json::array(store::Tx&)> list) {
  return {.method = "GET",
          .pattern = std::move(pattern),
          .summary = std::move(summary),
          .min_role = role,
          .handler = [&s, key = std::move(key), list = std::move(list)](
                         const Request&, const PathParams&, const Principal&) {
            auto lease = s.pool.acquire();
            boost::json::array out;
            store::with_tx(*lease, [&](store::Tx& tx) { out = list(tx); });
            return http::json_response(200, boost::json::object{{key, std::move(out)}});
          }};
}

void add_health_routes(http::Router& r, Services& s) {
  r.add({.method = "GET",
         .pattern = "/healthz",
         .summary = "The process is up",
         .min_role = Role::None,
         .handler = [](const Request&, const PathParams&, const Principal&) {
           return http::json_response(200, boost::json::object{{"status", "ok"}});
         }});
  r.add({.method = "GET",
         .pattern = "/readyz",
         .summary = "The database is reachable and migrated",
         .min_role = Role::None,
         .handler = [&s](const Request& req, const PathParams&, const Principal&) {
           try {
             auto lease = s.pool.acquire();
             if (!store::migrations_applied(*lease))
               return http::unavailable("database migrations not applied", req.path);
           } catch (const std::exception& e) {
             return http::unavailable(std::string("database unreachable: ") + e.what(), req.path);
           }
           return http::json_response(200, boost::json::object{{"status", "ready"}});
         }});
  r.add(http::metrics_route(s.metrics));
}

http::Authenticator make_authenticator(store::Pool& pool) {
  return [&pool](std::string_view token) -> std::optional<Principal> {
    if (token.empty() || token.size() > 512) return std::nullopt;
    std::string hash = sha256_hex(token);
    std::optional<store::TokenInfo> info;
    auto lease = pool.acquire();
    store::with_read(*lease, [&](store::Tx& tx) { info = store::find_token(tx, hash); });
    // The lookup is by sha256 digest: a guess sharing a prefix with a real token shares nothing
    // predictable with its digest, so the lookup's timing reveals nothing useful.
    if (!info) return std::nullopt;
    auto role = http::parse_role(info->role);
    if (!role) return std::nullopt;
    return Principal{*role, std::to_string(info->id), info->name};
  };
}

}  // namespace ctflow::api
