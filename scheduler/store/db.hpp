#pragma once
// Database access for the control plane. Only scheduler/store/ includes <pqxx/pqxx>; everything
// else sees these opaque types.
//
// Connection: one PostgreSQL session, used by one thread at a time (pqxx's rule).
// Tx: a read-committed transaction on a Connection; a scope: what is not committed rolls back.
//   A function that takes a Tx& never commits it; its caller owns the commit.
// Pool: a fixed set of connections for API handler threads; borrow with acquire().
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "scheduler/common/mutex.hpp"
#include "scheduler/common/result.hpp"
#include "scheduler/common/unavailable.hpp"

namespace ctflow::store {

struct ConnectionImpl;
struct TxImpl;

class Connection {
 public:
  explicit Connection(std::unique_ptr<ConnectionImpl> impl);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ConnectionImpl& impl() { return *impl_; }
  bool is_open() const;

 private:
  std::unique_ptr<ConnectionImpl> impl_;
};

// Connects, retrying up to `attempts` times `delay` apart (a database still starting). The error
// names the URL (without password) and libpq's reason.
Result<std::unique_ptr<Connection>> connect(
    const std::string& url, int attempts = 1,
    std::chrono::milliseconds delay = std::chrono::milliseconds(500));

class Tx {
 public:
  explicit Tx(Connection& c, bool read_only = false);
  ~Tx();
  Tx(const Tx&) = delete;
  Tx& operator=(const Tx&) = delete;
  void commit();
  TxImpl& impl() { return *impl_; }

 private:
  std::unique_ptr<TxImpl> impl_;
};

// Database errors thrown by store functions carry a one-line message; the API maps them to 500
// and the engine retries its pass. (Ordinary outcomes never throw.)
class DbError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The database cannot be reached right now (connection refused or lost, server shutting down or
// starting up): a transient state, not a bug. The API answers 503 with Retry-After (the router
// catches ctflow::Unavailable); the engine retries its pass. what() is "the database is
// unavailable"; detail() holds libpq's reason. A connection lost during COMMIT is not this
// (pqxx::in_doubt_error propagates): the write may have happened, so "retry" would be wrong.
class DbUnavailable : public Unavailable {
 public:
  explicit DbUnavailable(std::string detail)
      : Unavailable("the database is unavailable", std::move(detail)) {}
};

class Pool {
 public:
  Pool(std::string url, int size);
  // Borrows a connection (reconnecting a broken one, one attempt: a request never waits for a
  // database that is away); blocks while all are in use. Throws DbUnavailable when it cannot
  // connect.
  class Lease {
   public:
    Lease(Pool* p, std::unique_ptr<Connection> c) : pool_(p), conn_(std::move(c)) {}
    Lease(Lease&&) = default;
    ~Lease();
    Connection& operator*() { return *conn_; }
    Connection* operator->() { return conn_.get(); }

   private:
    Pool* pool_;
    std::unique_ptr<Connection> conn_;
  };
  Lease acquire();
  int size() const { return size_; }
  int in_use() const;

 private:
  friend class Lease;
  void release(std::unique_ptr<Connection> c);
  const std::string url_;
  const int size_;
  mutable Mutex mu_;
  CondVar cv_;
  std::vector<std::unique_ptr<Connection>> idle_ GUARDED_BY(mu_);
  int created_ GUARDED_BY(mu_) = 0;
  int in_use_ GUARDED_BY(mu_) = 0;
};

// Runs `fn` in a transaction and commits; on a serialization failure or a lost connection it
// retries up to `attempts` times. Exceptions from `fn` other than those propagate.
void with_tx(Connection& c, const std::function<void(Tx&)>& fn);

// Runs `fn`, which only reads, without a transaction block (no BEGIN/COMMIT round trips; each
// statement sees its own snapshot, as it would in a READ COMMITTED transaction).
void with_read(Connection& c, const std::function<void(Tx&)>& fn);
// Runs `fn` without a transaction block: each statement commits on its own (one round trip for
// a write, commit included). Only for work that is a single statement, or whose statements are
// each complete by themselves.
void with_autocommit(Connection& c, const std::function<void(Tx&)>& fn);

// Test-only (`ctflow server --fail-at NAME`, common/crash_point.hpp): throws the serialization
// failure PostgreSQL reports to a transaction that lost a conflict, when the armed fail point is
// NAME; with_tx then rolls back and runs its function again, as it would for a real one.
void fail_point(const char* name);

// Blocks on LISTEN channels; calls on_notify(channel, payload) for each notification, and
// on_reconnect() after the connection was re-established (callers then re-read state, since
// notifications may have been missed). Returns when `stop()` returns true (checked every wait).
void listen_loop(const std::string& url, const std::vector<std::string>& channels,
                 const std::function<void(const std::string&, const std::string&)>& on_notify,
                 const std::function<void()>& on_reconnect, const std::function<bool()>& stop);

// "postgresql://user@/db?host=/sock" with the password (if any) removed, for messages.
std::string redact_url(const std::string& url);

}  // namespace ctflow::store
