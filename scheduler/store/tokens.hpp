#pragma once
// API tokens: stored as sha256 hashes only; roles viewer < operator < admin.
#include <optional>
#include <string>

#include "scheduler/store/db.hpp"

namespace ctflow::store {

struct TokenInfo {
  int64_t id = 0;
  std::string role;
  std::string name;
};

// Stores the hash of `token` with a role and optional TTL in seconds; returns the token id.
int64_t create_token(Tx& tx, const std::string& token_hash, const std::string& role,
                     const std::string& name, std::optional<int64_t> ttl_seconds);
// The live (not expired, not revoked) token with this hash.
std::optional<TokenInfo> find_token(Tx& tx, const std::string& token_hash);
// Revokes by id or by hash; false when nothing matched.
bool revoke_token(Tx& tx, const std::string& id_or_hash);
bool any_admin_token(Tx& tx);

}  // namespace ctflow::store

#include <boost/json.hpp>
namespace ctflow::store {
// Every token without its hash: id, name, role, created_at, expires_at, revoked_at.
boost::json::array list_tokens(Tx& tx);
}  // namespace ctflow::store
