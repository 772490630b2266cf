#pragma once
// Private to scheduler/store/: the pqxx types behind the opaque handles of db.hpp.
#include <boost/json.hpp>
#include <pqxx/pqxx>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "scheduler/store/db.hpp"

namespace ctflow::store {

struct ConnectionImpl {
  std::unique_ptr<pqxx::connection> conn;
  std::set<std::string> prepared;  // statement names prepared on this session
};

// A transaction, or for with_read() a pqxx::nontransaction (autocommit: no BEGIN/COMMIT round
// trips; each statement still reads one snapshot, as in a READ COMMITTED transaction).
struct TxImpl {
  TxImpl(ConnectionImpl& c, bool read_only)
      : conn(c),
        w(read_only ? std::unique_ptr<pqxx::transaction_base>(new pqxx::nontransaction(*c.conn))
                    : std::unique_ptr<pqxx::transaction_base>(new pqxx::work(*c.conn))) {}
  ConnectionImpl& conn;
  std::unique_ptr<pqxx::transaction_base> w;
};

inline pqxx::transaction_base& W(Tx& tx) {
  return *tx.impl().w;
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
  return ti.w->exec_prepared(name, std::forward<Args>(args)...);
}

// A PostgreSQL array literal of integers ("{1,2,3}") for a $n::bigint[] or int[] parameter.
template <class Int>
std::string id_array(const std::vector<Int>& ids) {
  std::string arr = "{";
  for (size_t i = 0; i < ids.size(); ++i) arr += (i ? "," : "") + std::to_string(ids[i]);
  return arr + "}";
}

// A PostgreSQL array literal ("{\"a\",\"b\\\"c\",NULL}") for a $n::text[] parameter; an empty
// string is NULL when `empty_null`.
inline std::string text_array(const std::vector<std::string>& items, bool empty_null = false) {
  std::string arr = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) arr += ',';
    if (empty_null && items[i].empty()) {
      arr += "NULL";
      continue;
    }
    arr += '"';
    for (char ch : items[i]) {
      if (ch == '"' || ch == '\\') arr += '\\';
      arr += ch;
    }
    arr += '"';
  }
  return arr + "}";
}

// The events of the tasks a statement ended (CTE `t`: id, run_id, name, state) and of the runs
// that ended with them (CTE `r`: id, state): task events first, each group in id order.
constexpr const char* kEndedEvents = R"SQL(
INSERT INTO events(kind, run_id, task_run_id, payload)
SELECT kind, run_id, tid, payload FROM (
  SELECT 1 AS o, id AS k, 'task' AS kind, run_id, id AS tid,
         jsonb_build_object('task', name, 'state', state) AS payload FROM t
  UNION ALL
  SELECT 2, id, 'run', id, NULL, jsonb_build_object('state', state) FROM r
  WHERE state IN ('succeeded','failed','cancelled')
) e ORDER BY o, k)SQL";

// A json/jsonb column holding an object; NULL, unparsable text or another JSON type -> {}.
inline boost::json::object field_object(const pqxx::field& f) {
  if (f.is_null()) return {};
  boost::json::error_code ec;
  auto v = boost::json::parse(f.c_str(), ec);
  if (ec || !v.is_object()) return {};
  return v.get_object();
}

// A json/jsonb column read as text -> JSON; NULL or unparsable text -> null.
inline boost::json::value field_json(const pqxx::field& f) {
  if (f.is_null()) return nullptr;
  boost::json::error_code ec;
  auto v = boost::json::parse(f.c_str(), ec);
  return ec ? boost::json::value(nullptr) : v;
}

// NULL-able text parameter for exec_params (pqxx 6 has no std::optional parameters).
inline const char* opt(const std::optional<std::string>& s) {
  return s ? s->c_str() : nullptr;
}

}  // namespace ctflow::store
