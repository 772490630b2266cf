#pragma once
// Private to scheduler/store/: the pqxx types behind the opaque handles of db.hpp.
#include <pqxx/pqxx>

#include <memory>

#include "scheduler/store/db.hpp"

namespace ctflow::store {

struct ConnectionImpl {
  std::unique_ptr<pqxx::connection> conn;
};

struct TxImpl {
  explicit TxImpl(pqxx::connection& c) : w(c) {}
  pqxx::work w;
};

inline pqxx::work& W(Tx& tx) {
  return tx.impl().w;
}

// NULL-able text parameter for exec_params (pqxx 6 has no std::optional parameters).
inline const char* opt(const std::optional<std::string>& s) {
  return s ? s->c_str() : nullptr;
}

}  // namespace ctflow::store
