#include "scheduler/store/db.hpp"

#include <regex>
#include <thread>

#include "scheduler/common/crash_point.hpp"
#include "scheduler/common/log.hpp"
#include "scheduler/store/internal.hpp"

namespace ctflow::store {

Connection::Connection(std::unique_ptr<ConnectionImpl> impl) : impl_(std::move(impl)) {}
Connection::~Connection() = default;
bool Connection::is_open() const {
  return impl_->conn && impl_->conn->is_open();
}

std::string redact_url(const std::string& url) {
  static const std::regex kPass(R"(://([^:/@]*):[^@]*@)");
  return std::regex_replace(url, kPass, "://$1:***@");
}

static std::string one_line(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (auto& ch : s)
    if (ch == '\n' || ch == '\t') ch = ' ';
  return s;
}

// SQLSTATE class 08 (connection exception), 57P01-57P03 (admin shutdown, crash shutdown, cannot
// connect now: a server stopping or starting up) mean "away for a moment"; the rest are errors.
[[noreturn]] static void throw_sql_error(const pqxx::sql_error& e) {
  const std::string& state = e.sqlstate();
  if (state.rfind("08", 0) == 0 || state == "57P01" || state == "57P02" || state == "57P03")
    throw DbUnavailable(one_line(e.what()));
  throw DbError(one_line(e.what()));
}

Result<std::unique_ptr<Connection>> connect(const std::string& url, int attempts,
                                            std::chrono::milliseconds delay) {
  std::string last;
  for (int i = 0; i < std::max(1, attempts); ++i) {
    if (i) std::this_thread::sleep_for(delay);
    try {
      auto impl = std::make_unique<ConnectionImpl>();
      impl->conn = std::make_unique<pqxx::connection>(url);
      return std::make_unique<Connection>(std::move(impl));
    } catch (const std::exception& e) {
      last = one_line(e.what());
    }
  }
  return Error{"database " + redact_url(url) + " unreachable after " +
               std::to_string(std::max(1, attempts)) + " attempt(s): " + last};
}

Tx::Tx(Connection& c, bool read_only) : impl_(std::make_unique<TxImpl>(c.impl(), read_only)) {}
Tx::~Tx() = default;
void Tx::commit() {
  impl_->w->commit();
}

Pool::Pool(std::string url, int size) : url_(std::move(url)), size_(std::max(1, size)) {}

Pool::Lease::~Lease() {
  if (pool_ && conn_) pool_->release(std::move(conn_));
}

Pool::Lease Pool::acquire() {
  std::unique_ptr<Connection> c;
  mu_.lock();
  while (idle_.empty() && created_ >= size_) cv_.wait(mu_);
  if (!idle_.empty()) {
    c = std::move(idle_.back());
    idle_.pop_back();
  } else {
    ++created_;
  }
  ++in_use_;
  mu_.unlock();
  if (!c || !c->is_open()) {
    auto r = connect(url_, 1);
    if (!r) {
      MutexLock g(mu_);
      --created_;
      --in_use_;
      cv_.notify_one();
      throw DbUnavailable(r.error());
    }
    c = std::move(r.value());
  }
  return Lease(this, std::move(c));
}

int Pool::in_use() const {
  MutexLock g(mu_);
  return in_use_;
}

void Pool::release(std::unique_ptr<Connection> c) {
  MutexLock g(mu_);
  --in_use_;
  if (c->is_open())
    idle_.push_back(std::move(c));
  else
    --created_;
  cv_.notify_one();
}

void with_tx(Connection& c, const std::function<void(Tx&)>& fn) {
  for (int attempt = 0;; ++attempt) {
    crash::rolled_back();  // a retried transaction starts clean
    try {
      Tx tx(c);
      fn(tx);
      tx.commit();
      crash::committed();
      return;
    } catch (const pqxx::serialization_failure& e) {
      if (attempt >= 5) throw DbError(one_line(e.what()));
    } catch (const pqxx::deadlock_detected& e) {
      if (attempt >= 5) throw DbError(one_line(e.what()));
    } catch (const pqxx::broken_connection& e) {
      throw DbUnavailable("database connection lost: " + one_line(e.what()));
    } catch (const pqxx::sql_error& e) {
      throw_sql_error(e);
    }
  }
}

void fail_point(const char* name) {
  if (!crash::fails(name)) return;
  log::warn("fail point {}: injected serialization failure (--fail-at)", name);
  throw pqxx::serialization_failure(std::string("injected by --fail-at ") + name);
}

void with_read(Connection& c, const std::function<void(Tx&)>& fn) {
  with_autocommit(c, fn);
}

void with_autocommit(Connection& c, const std::function<void(Tx&)>& fn) {
  crash::rolled_back();
  try {
    Tx tx(c, true);
    fn(tx);
    tx.commit();
    crash::committed();
  } catch (const pqxx::broken_connection& e) {
    throw DbUnavailable("database connection lost: " + one_line(e.what()));
  } catch (const pqxx::sql_error& e) {
    throw_sql_error(e);
  }
}

namespace {
class Receiver : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& c, const std::string& ch,
           const std::function<void(const std::string&, const std::string&)>& fn)
      : pqxx::notification_receiver(c, ch), fn_(fn) {}
  void operator()(const std::string& payload, int) override { fn_(channel(), payload); }

 private:
  const std::function<void(const std::string&, const std::string&)>& fn_;
};
}  // namespace

void listen_loop(const std::string& url, const std::vector<std::string>& channels,
                 const std::function<void(const std::string&, const std::string&)>& on_notify,
                 const std::function<void()>& on_reconnect, const std::function<bool()>& stop) {
  bool first = true;
  while (!stop()) {
    try {
      pqxx::connection conn(url);
      std::vector<std::unique_ptr<Receiver>> rs;
      for (const auto& ch : channels) rs.push_back(std::make_unique<Receiver>(conn, ch, on_notify));
      conn.get_notifs();  // issues the LISTENs
      if (!first) on_reconnect();
      first = false;
      while (!stop()) conn.await_notification(0, 200'000);
    } catch (const std::exception& e) {
      log::warn("listener: {}; reconnecting", one_line(e.what()));
      for (int i = 0; i < 10 && !stop(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

}  // namespace ctflow::store
