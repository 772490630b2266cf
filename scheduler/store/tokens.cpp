#include "scheduler/store/tokens.hpp"

#include "scheduler/store/internal.hpp"

namespace ctflow::store {

int64_t create_token(Tx& tx, const std::string& token_hash, const std::string& role,
                     const std::string& name, std::optional<int64_t> ttl_seconds) {
  std::optional<std::string> ttl;
  if (ttl_seconds) ttl = std::to_string(*ttl_seconds);
  return W(tx)
      .exec_params1(
          "INSERT INTO api_tokens(token_hash, role, name, expires_at) VALUES ($1, $2, $3, CASE "
          "WHEN $4::bigint IS NULL THEN NULL ELSE now() + make_interval(secs => $4::bigint) END) "
          "RETURNING id",
          token_hash, role, name, opt(ttl))[0]
      .as<int64_t>();
}

std::optional<TokenInfo> find_token(Tx& tx, const std::string& token_hash) {
  auto r = exec_cached(
      tx, "find_token",
      "SELECT id, role, name FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL AND "
      "(expires_at IS NULL OR expires_at > now())",
      token_hash);
  if (r.empty()) return std::nullopt;
  return TokenInfo{r[0][0].as<int64_t>(), r[0][1].c_str(), r[0][2].c_str()};
}

bool revoke_token(Tx& tx, const std::string& id_or_hash) {
  bool numeric = !id_or_hash.empty() && id_or_hash.size() < 19 &&
                 id_or_hash.find_first_not_of("0123456789") == std::string::npos;
  auto r = numeric ? W(tx).exec_params(
                         "UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at "
                         "IS NULL RETURNING id",
                         std::stoll(id_or_hash))
                   : W(tx).exec_params(
                         "UPDATE api_tokens SET revoked_at = now() WHERE token_hash = $1 AND "
                         "revoked_at IS NULL RETURNING id",
                         id_or_hash);
  return !r.empty();
}

bool any_admin_token(Tx& tx) {
  return !W(tx)
              .exec(
                  "SELECT 1 FROM api_tokens WHERE role = 'admin' AND revoked_at IS NULL "
                  "LIMIT 1")
              .empty();
}

}  // namespace ctflow::store

namespace ctflow::store {
boost::json::array list_tokens(Tx& tx) {
  auto r = W(tx).exec(R"SQL(
SELECT jsonb_build_object('id', id::text, 'name', name, 'role', role,
  'created_at', iso(created_at), 'expires_at', iso(expires_at), 'revoked_at', iso(revoked_at))::text
FROM api_tokens ORDER BY id)SQL");
  boost::json::array out;
  for (const auto& row : r) out.push_back(boost::json::parse(row[0].c_str()));
  return out;
}
}  // namespace ctflow::store
