#pragma once
// Private to scheduler/store/: the pqxx types behind the opaque handles of db.hpp.
#include <pqxx/pqxx>

#include <memory>
#include <set>
#include <string>

#include "scheduler/store/db.hpp"

namespace ctflow::store {

struct ConnectionImpl {
  std::unique_ptr<pqxx::connection> conn;
  std::set<std::string> prepared;  // statement names prepared on this session
};

struct TxImpl {
  explicit TxImpl(ConnectionImpl& c) : conn(c), w(*c.conn) {}
  ConnectionImpl& conn;
  pqxx::work w;
};

inline pqxx::work& W(Tx& tx) {
  return tx.impl().w;
}

// Runs `sql` as a named prepared statement of this session (prepared on first use), so the hot
// statements of a scheduler pass are parsed and planned once per connection, not once per pass.
template <class... Args>
pqxx::result exec_cached(Tx& tx, const std::string& name, const std::string& sql, Args&&... args) {
  auto& ti = tx.impl();
  if (!ti.conn.prepared.count(name)) {
    ti.conn.conn->prepare(name, sql);
    ti.conn.prepared.insert(name);
  }
  return ti.w.exec_prepared(name, std::forward<Args>(args)...);
}

// NULL-able text parameter for exec_params (pqxx 6 has no std::optional parameters).
inline const char* opt(const std::optional<std::string>& s) {
  return s ? s->c_str() : nullptr;
}

}  // namespace ctflow::store
