// `ctflow server` and `ctflow up`: database, migrations, admin token, supervisor, engine, API.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <string_view>

#include "scheduler/api/gc.hpp"
#include "scheduler/api/http/server.hpp"
#include "scheduler/api/routes_all.hpp"
#include "scheduler/api/routes_web.hpp"
#include "scheduler/api/service.hpp"
#include "scheduler/cli/commands.hpp"
#include "scheduler/cli/embedded_pg.hpp"
#include "scheduler/common/crash_point.hpp"
#include "scheduler/common/json_util.hpp"
#include "scheduler/common/log.hpp"
#include "scheduler/common/sha256.hpp"
#include "scheduler/engine/cron_scheduler.hpp"
#include "scheduler/engine/engine.hpp"
#include "scheduler/engine/monitor_loop.hpp"
#include "scheduler/executor/local/local_executor.hpp"
#include "scheduler/store/migrate.hpp"
#include "scheduler/store/tokens.hpp"

namespace ctflow::cli {

namespace fs = std::filesystem;

namespace {

std::string random_hex(size_t bytes) {
  std::random_device rd;
  std::string out;
  static const char* kHex = "0123456789abcdef";
  for (size_t i = 0; i < bytes; ++i) {
    unsigned v = rd() & 0xff;
    out.push_back(kHex[v >> 4]);
    out.push_back(kHex[v & 15]);
  }
  return out;
}

std::string self_exe() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "ctflow" : p.string();
}

std::string hostname() {
  char buf[256] = {0};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

// <data-dir>/admin-token holds a live admin token (mode 0600) before the server accepts
// connections: reuse the file's token if the database knows it, else make a new one.
Result<std::string> ensure_admin_token(store::Connection& c, const std::string& data_dir) {
  std::string path = data_dir + "/admin-token";
  auto existing = read_file(path, 4096);
  std::string token;
  if (existing) {
    token = *existing;
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  }
  bool known = false;
  if (!token.empty())
    store::with_tx(
        c, [&](store::Tx& tx) { known = store::find_token(tx, sha256_hex(token)).has_value(); });
  if (known) {
    ::chmod(path.c_str(), 0600);
    return path;
  }
  token = "ctf_" + random_hex(24);
  store::with_tx(c, [&](store::Tx& tx) {
    store::create_token(tx, sha256_hex(token), "admin", "admin-token of " + data_dir, std::nullopt);
  });
  std::string tmp = path + ".tmp";
  {
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return Error{"cannot write " + path + ": " + strerror(errno)};
    std::string line = token + "\n";
    bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    ::fsync(fd);
    ::close(fd);
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0)
      return Error{"cannot write " + path + ": " + strerror(errno)};
  }
  return path;
}

// The dashboard's login link: the token rides in the URL fragment, which the browser never sends
// to the server; the app moves it to sessionStorage and clears the address bar. Only `ctflow up`
// (a personal server) prints the token; `ctflow server` prints the address alone.
void print_login_link(const std::string& address, int port, const std::string& token_path,
                      const std::string& web_dir, bool with_token) {
  auto token = with_token ? read_file(token_path, 4096) : std::nullopt;
  std::string t = token ? *token : "";
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
  std::string host = address == "0.0.0.0" || address == "::" ? "127.0.0.1" : address;
  log::print_line(fmt::format("ctflow: dashboard{} at http://{}:{}/{}",
                              web_dir.empty() ? " (not built: run make)" : "", host, port,
                              t.empty() ? "" : "#token=" + t));
}

}  // namespace

int cmd_migrate(ServerFlags f) {
  std::unique_ptr<EmbeddedPostgres> pg;
  if (f.database_url.empty()) {
    pg = std::make_unique<EmbeddedPostgres>(f.data_dir);
    auto url = pg->start();
    if (!url) {
      std::cerr << "error: embedded database: " << url.error() << "\n";
      return 2;
    }
    f.database_url = *url;
  }
  auto c = store::connect(f.database_url, f.db_connect_attempts);
  if (!c) {
    std::cerr << "error: " << c.error() << "\n";
    return 2;
  }
  auto applied = store::migrate(**c);
  if (!applied) {
    std::cerr << "error: " << applied.error() << "\n";
    return 1;
  }
  if (applied->empty()) std::cout << "database is up to date\n";
  for (const auto& m : *applied) std::cout << "applied " << m << "\n";
  return 0;
}

int cmd_server(ServerFlags f, bool embedded) {
  if (auto why = check_k8s_flags(f.k8s)) {
    std::cerr << "error: " << *why << "\n";
    return 2;
  }
  auto gc_age = parse_duration(f.gc_older_than), gc_every = parse_duration(f.gc_interval);
  if (!f.gc_older_than.empty() && (!gc_age || gc_age->count() < 0)) {
    std::cerr << "error: --gc-older-than: expected a duration such as 90d, got \""
              << f.gc_older_than << "\"\n";
    return 2;
  }
  if (!gc_every || gc_every->count() <= 0) {
    std::cerr << "error: --gc-interval: expected a duration such as 1h, got \"" << f.gc_interval
              << "\"\n";
    return 2;
  }
  std::error_code ec;
  fs::create_directories(f.data_dir, ec);
  if (ec) {
    std::cerr << "error: --data-dir " << f.data_dir << ": " << ec.message() << "\n";
    return 2;
  }
  f.data_dir = fs::canonical(f.data_dir, ec).string();
  std::unique_ptr<EmbeddedPostgres> pg;
  if (auto err = crash::arm(f.crash_at) + crash::arm_failure(f.fail_at); !err.empty()) {
    std::cerr << "error: " << err << "\n";
    return 2;
  }
  if (embedded && f.database_url.empty()) {
    pg = std::make_unique<EmbeddedPostgres>(f.data_dir);
    auto url = pg->start();
    if (!url) {
      std::cerr << "error: embedded database: " << url.error() << "\n";
      return 2;
    }
    f.database_url = *url;
    log::info("embedded PostgreSQL in {}", pg->cluster_dir());
  }
  auto conn = store::connect(f.database_url, f.db_connect_attempts);
  if (!conn) {
    std::cerr << "error: " << conn.error() << "\n";
    return 2;
  }
  auto applied = store::migrate(**conn);
  if (!applied) {
    std::cerr << "error: " << applied.error() << "\n";
    return 1;
  }
  for (const auto& m : *applied) log::info("applied migration {}", m);
  auto token_path = ensure_admin_token(**conn, f.data_dir);
  if (!token_path) {
    std::cerr << "error: " << token_path.error() << "\n";
    return 1;
  }
  conn->reset();

  std::string host = hostname();
  std::string server_id = host + ":" + std::to_string(::getpid()) + ":" + random_hex(4);
  auto executor = exec::LocalExecutor::create(
      self_exe(), f.data_dir + "/attempts", host, static_cast<size_t>(f.spare_folders),
      f.task_log_limit_mib > 0 ? int64_t{f.task_log_limit_mib} << 20 : -1);
  if (!executor) {
    std::cerr << "error: " << executor.error() << "\n";
    return 1;
  }
  // Every attempt goes through the router: local ones to the local executor, those with
  // `executor: kubernetes` to Jobs (the Kubernetes executor is made when the first one comes).
  exec::Router tasks(**executor, k8s_factory(f.k8s, f.data_dir, **executor));
  engine::EngineOptions eo;
  eo.database_url = f.database_url;
  eo.server_id = server_id;
  eo.host = host;
  eo.data_dir = f.data_dir;
  const char* path = std::getenv("PATH");
  eo.task_path = fs::path(self_exe()).parent_path().string() + ":" +
                 (path ? path : "/usr/local/bin:/usr/bin:/bin");
  eo.max_parallel = f.max_parallel;
  eo.lease = Millis(f.lease_ms);
  eo.sweep = Millis(f.sweep_ms);
  eo.cancel_grace = Millis(f.cancel_grace_ms);
  const char* plain = std::getenv("CTFLOW_NO_FAST_PATH");
  eo.fast_path = f.fast_path || (!f.no_fast_path && !(plain && std::string_view(plain) == "1"));
  eo.start_early = !f.no_early_start;
  eo.crash_after_early_starts = f.crash_after_early_starts;
  eo.arm_depth = f.arm_depth;
  eo.fired_wait = Millis(std::max(0, f.fired_wait_ms));
  eo.dispatch_ahead = f.dispatch_ahead < 0 ? f.max_parallel : f.dispatch_ahead;
  eo.pass_delay = Millis(f.pass_delay_ms);
  eo.ignore_models_notify = f.ignore_models_notify;
  http::MetricsRegistry metrics;
  eo.observe = api::engine_latency_observer(metrics);
  engine::Engine engine(eo, tasks);

  store::Pool pool(f.database_url, 8);
  api::EventHub hub(f.database_url);
  api::Services services{pool, hub, metrics, [&engine] { engine.wake(); }, f.data_dir};
  http::Router router;
  router.set_authenticator(api::make_authenticator(pool));
  std::unique_ptr<ClockSource> clock = f.clock_file.empty()
                                           ? std::unique_ptr<ClockSource>(new SystemClock())
                                           : std::make_unique<FileClock>(f.clock_file);
  engine::CronScheduler cron({.database_url = f.database_url,
                              .sweep = Millis(f.sweep_ms),
                              .on_fired = [&engine, &hub] { engine.wake(), hub.poke(); }},
                             *clock);
  std::string web_dir = api::find_web_dir(self_exe());
  api::add_all_routes(
      router, services, *clock, [&cron] { cron.wake(); }, web_dir);
  engine::MonitorLoop monitors({.database_url = f.database_url,
                                .interval = Millis(f.monitor_interval_ms),
                                .on_created = [&engine, &hub] { engine.wake(), hub.poke(); }},
                               *clock);
  api::add_state_metrics(metrics, pool, [&engine] {
    const auto& st = engine.stats();
    return std::vector<std::pair<std::string, double>>{{"passes", double(st.passes.load())},
                                                       {"claimed", double(st.claimed.load())},
                                                       {"finished", double(st.finished.load())},
                                                       {"adopted", double(st.adopted.load())},
                                                       {"active", double(st.active.load())}};
  });
  api::add_counter_family(metrics, "ctflow_cron",
                          "Cron scheduler counters of this server since it started", [&cron] {
                            const auto& st = cron.stats();
                            return std::vector<std::pair<std::string, double>>{
                                {"steps", double(st.steps.load())},
                                {"runs_created", double(st.runs_created.load())},
                                {"fires_skipped", double(st.fires_skipped.load())},
                                {"contended", double(st.contended.load())}};
                          });
  api::add_counter_family(metrics, "ctflow_monitor",
                          "Monitor loop counters of this server since it started", [&monitors] {
                            const auto& st = monitors.stats();
                            return std::vector<std::pair<std::string, double>>{
                                {"passes", double(st.passes.load())},
                                {"checks", double(st.checks.load())},
                                {"runs_created", double(st.runs_created.load())},
                                {"contended", double(st.contended.load())},
                                {"errors", double(st.errors.load())}};
                          });

  http::ServerOptions so;
  so.address = f.address;
  so.port = static_cast<uint16_t>(f.port);
  so.body_limit = f.body_limit;
  so.read_timeout = Millis(f.read_timeout_ms);
  so.worker_threads = 6;
  so.metrics = &metrics;
  http::HttpServer server(router, so);
  auto port = server.start();
  if (!port) {
    std::cerr << "error: " << port.error() << "\n";
    tasks.shutdown();
    return 2;
  }
  std::unique_ptr<api::GcLoop> gc;
  if (!f.gc_older_than.empty()) {
    api::GcOptions go;
    go.older_than_s = gc_age->count() / 1000;
    gc = std::make_unique<api::GcLoop>(pool, f.data_dir, go, *gc_every);
  }
  engine.start();
  cron.start();
  if (gc) gc->start();
  monitors.start();
  hub.start();
  server.stop_on_signals();
  // One write: the engine's and cron's threads already log, and scripts parse this line.
  log::print_line(
      fmt::format("ctflow {}: API listening on http://{}:{} (admin token in {}, data in {})",
                  embedded ? "up" : "server", f.address, *port, *token_path, f.data_dir));
  print_login_link(f.address, *port, *token_path, web_dir, embedded);
  // The embedded database dying under us: restarted by the watcher; if it cannot be, stop.
  std::mutex fatal_mu;
  std::string pg_fatal;
  if (pg)
    pg->watch([&](const std::string& why) {
      {
        std::lock_guard lock(fatal_mu);
        pg_fatal = why;
      }
      log::error("{}; stopping", why);
      server.stop();
    });
  server.run();
  log::info("shutting down");
  if (gc) gc->stop();
  monitors.stop();
  cron.stop();
  engine.stop();
  hub.stop();
  tasks.shutdown();
  if (pg) pg->stop();
  std::lock_guard lock(fatal_mu);
  if (!pg_fatal.empty()) {
    std::cerr << "error: " << pg_fatal << "\n";
    return 1;
  }
  return 0;
}

}  // namespace ctflow::cli
