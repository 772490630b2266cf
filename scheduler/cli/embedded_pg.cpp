#include "scheduler/cli/embedded_pg.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "scheduler/common/log.hpp"
#include "scheduler/common/sha256.hpp"

extern char** environ;

namespace ctflow::cli {

namespace fs = std::filesystem;

std::optional<std::string> find_pg_bin() {
  std::error_code ec;
  std::optional<std::string> best;
  int best_v = 0;
  for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    int v = std::atoi(e.path().filename().c_str());
    if (v > best_v && fs::exists(e.path() / "bin" / "pg_ctl")) {
      best_v = v;
      best = (e.path() / "bin").string();
    }
  }
  return best;
}

EmbeddedPostgres::EmbeddedPostgres(std::string data_dir) : data_dir_(std::move(data_dir)) {}

EmbeddedPostgres::~EmbeddedPostgres() {
  stop();
}

namespace {

// The pid in the first line of `file`, 0 when there is none.
pid_t read_pid(const std::string& file) {
  std::ifstream in(file);
  long pid = 0;
  if (!(in >> pid) || pid <= 0) return 0;
  return static_cast<pid_t>(pid);
}

bool pid_alive(pid_t pid) {
  return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
}

}  // namespace

bool EmbeddedPostgres::postmaster_alive() const {
  return pid_alive(read_pid(cluster_ + "/postmaster.pid"));
}

void EmbeddedPostgres::write_owner() {
  std::ofstream(data_dir_ + "/pg.owner") << ::getpid() << "\n";
}

Result<bool> EmbeddedPostgres::start_cluster() {
  std::string out;
  auto rc =
      run({bin_ + "/pg_ctl", "-D", cluster_, "-l", cluster_ + "/server.log", "-w", "-t", "60", "-o",
           "-c listen_addresses='' -k " + cluster_ + " -c max_connections=200", "start"},
          as_root_, &out);
  if (!rc || *rc != 0) {
    std::string why = out;
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    auto nl = why.find_last_of('\n');
    if (nl != std::string::npos) why = why.substr(nl + 1);
    return Error{"pg_ctl start failed (see " + cluster_ +
                 "/server.log): " + (rc ? why : rc.error())};
  }
  return true;
}

int EmbeddedPostgres::restarts() const {
  std::lock_guard lock(mu_);
  return restarts_;
}

void EmbeddedPostgres::watch(std::function<void(const std::string&)> on_fatal,
                             std::chrono::milliseconds every) {
  if (!started_here_ || watcher_.joinable()) return;  // someone else's cluster is theirs to mind
  watcher_ = std::thread([this, on_fatal = std::move(on_fatal), every] {
    int failed = 0;
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, every, [&] { return stop_watch_; })) {
      lock.unlock();
      bool alive = postmaster_alive();
      std::string why;
      if (!alive) {
        log::warn("embedded PostgreSQL in {} stopped unexpectedly; starting it again", cluster_);
        auto r = start_cluster();
        if (r) {
          log::warn("embedded PostgreSQL in {} is running again (crash recovery done)", cluster_);
          failed = 0;
        } else {
          why = r.error();
          log::error("embedded PostgreSQL: {}", why);
          ++failed;
        }
      }
      lock.lock();
      if (!alive && why.empty()) ++restarts_;
      if (failed >= kMaxRestarts) {
        lock.unlock();
        on_fatal("the embedded PostgreSQL in " + cluster_ + " died and could not be started " +
                 std::to_string(kMaxRestarts) + " times: " + why);
        return;
      }
    }
  });
}

Result<int> EmbeddedPostgres::run(const std::vector<std::string>& argv, bool as_postgres_user,
                                  std::string* output) {
  std::vector<std::string> full;
  if (as_postgres_user) full = {"/usr/sbin/runuser", "-u", "postgres", "--"};
  full.insert(full.end(), argv.begin(), argv.end());
  std::vector<char*> av;
  for (auto& s : full) av.push_back(s.data());
  av.push_back(nullptr);
  std::string out_file =
      (fs::temp_directory_path() / ("ctflow-pg-" + std::to_string(::getpid()) + ".out")).string();
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawnattr_t at;
  posix_spawnattr_init(&at);
  // Own process group: the terminal's Ctrl-C reaches ctflow, which then stops PostgreSQL cleanly.
  posix_spawnattr_setpgroup(&at, 0);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
  pid_t pid;
  int rc = posix_spawn(&pid, av[0], &fa, &at, av.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  if (rc != 0) return Error{"cannot run " + full[0] + ": " + strerror(rc)};
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::ifstream in(out_file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ::unlink(out_file.c_str());
  if (output) *output = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static std::string last_line(const std::string& s) {
  std::string t = s;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  auto nl = t.find_last_of('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

// A cluster under kClustersDir whose data dir is gone (or no longer links to it) is stopped and
// removed. Clusters made before the back-reference file existed are left alone.
void EmbeddedPostgres::sweep_orphans() {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(kClustersDir, ec)) {
    if (e.path().extension() != ".datadir") continue;
    std::string cluster = (e.path().parent_path() / e.path().stem()).string();
    std::ifstream in(e.path());
    std::string data;
    std::getline(in, data);
    std::error_code lec;
    auto target = fs::read_symlink(data + "/pg", lec);
    if (!data.empty() && !lec && target == cluster) continue;  // still in use
    std::string out;
    if (fs::exists(cluster + "/postmaster.pid", lec))
      run({bin_ + "/pg_ctl", "-D", cluster, "-m", "immediate", "-w", "stop"}, true, &out);
    fs::remove_all(cluster, lec);
    fs::remove(e.path(), lec);
    log::info("removed the embedded PostgreSQL cluster {} of the deleted data dir {}", cluster,
              data);
  }
}

Result<std::string> EmbeddedPostgres::start() {
  auto bin = find_pg_bin();
  if (!bin)
    return Error{"PostgreSQL is not installed (/usr/lib/postgresql/*/bin/pg_ctl); run `make deps`"};
  bin_ = *bin;
  as_root_ = ::geteuid() == 0;
  std::error_code ec;
  fs::create_directories(data_dir_, ec);
  if (ec) return Error{"data dir " + data_dir_ + ": " + ec.message()};
  std::string link = data_dir_ + "/pg";
  if (as_root_) {
    struct passwd* pw = ::getpwnam("postgres");
    if (!pw)
      return Error{"running as root needs the unprivileged user \"postgres\" (package postgresql)"};
    sweep_orphans();
    std::string real = fs::weakly_canonical(data_dir_, ec).string();
    std::string outside = std::string(kClustersDir) + "/" + sha256_hex(real).substr(0, 16);
    std::string ignored;
    auto enter = run({"/usr/bin/test", "-x", data_dir_}, true, &ignored);
    bool inside =
        !fs::is_symlink(link, ec) && (fs::is_directory(link, ec) || (enter && *enter == 0));
    cluster_ = inside ? link : outside;
    fs::create_directories(cluster_, ec);
    if (ec) return Error{"cannot create " + cluster_ + ": " + ec.message()};
    if (!inside) {
      ::chmod("/var/lib/ctflow", 0755);
      ::chmod(kClustersDir, 0755);
    }
    if (::chown(cluster_.c_str(), pw->pw_uid, pw->pw_gid) != 0 ||
        ::chmod(cluster_.c_str(), 0700) != 0)
      return Error{"cannot give " + cluster_ + " to user postgres: " + strerror(errno)};
    if (!inside && !fs::is_symlink(link, ec)) {
      if (fs::exists(link, ec))
        return Error{link + " exists and is not the cluster link; move it away"};
      fs::create_symlink(cluster_, link, ec);
      if (ec) return Error{"cannot link " + link + ": " + ec.message()};
    }
    // The way back from the cluster to its data dir, for sweep_orphans() once the data dir is
    // deleted; written after the link so that a sweep never takes a cluster being set up.
    if (!inside) std::ofstream(cluster_ + ".datadir") << real << "\n";
  } else {
    cluster_ = link;
    fs::create_directories(cluster_, ec);
    ::chmod(cluster_.c_str(), 0700);
  }
  std::string out;
  if (!fs::exists(cluster_ + "/PG_VERSION")) {
    log::info("creating the embedded PostgreSQL cluster in {}", cluster_);
    auto rc = run({bin_ + "/initdb", "-D", cluster_, "-A", "trust", "-U", "ctflow", "-E", "UTF8",
                   "--locale=C.UTF-8"},
                  as_root_, &out);
    if (!rc || *rc != 0) return Error{"initdb failed: " + (rc ? last_line(out) : rc.error())};
  }
  auto status = run({bin_ + "/pg_ctl", "-D", cluster_, "status"}, as_root_, &out);
  if (!status || *status != 0) {
    auto started = start_cluster();
    if (!started) return Error{started.error()};
    started_here_ = true;
    write_owner();
  } else {
    pid_t owner = read_pid(data_dir_ + "/pg.owner");
    if (owner > 0 && owner != ::getpid() && !pid_alive(owner)) {
      log::warn(
          "embedded PostgreSQL in {} was left running by ctflow pid {}, which is gone: "
          "adopting it (it stops when this server does)",
          cluster_, owner);
      started_here_ = true;
      write_owner();
    } else {
      log::info(
          "embedded PostgreSQL in {} is already running (not started by this ctflow: it is "
          "left running at exit)",
          cluster_);
    }
  }
  // Database "ctflow" (the cluster's superuser is also called ctflow).
  auto rc = run({bin_ + "/psql", "-h", cluster_, "-U", "ctflow", "-d", "postgres", "-tAc",
                 "SELECT 1 FROM pg_database WHERE datname = 'ctflow'"},
                as_root_, &out);
  if (rc && *rc == 0 && out.find('1') == std::string::npos) {
    auto c = run({bin_ + "/createdb", "-h", cluster_, "-U", "ctflow", "ctflow"}, as_root_, &out);
    if (!c || *c != 0) return Error{"createdb failed: " + (c ? last_line(out) : c.error())};
  }
  return "postgresql:///ctflow?host=" + cluster_ + "&user=ctflow";
}

void EmbeddedPostgres::stop() {
  {
    std::lock_guard lock(mu_);
    stop_watch_ = true;
  }
  cv_.notify_all();
  if (watcher_.joinable()) {
    if (watcher_.get_id() == std::this_thread::get_id())
      watcher_.detach();  // on_fatal ended the process from the watcher itself
    else
      watcher_.join();
  }
  if (!started_here_) return;
  started_here_ = false;
  std::string out;
  run({bin_ + "/pg_ctl", "-D", cluster_, "-m", "fast", "-w", "stop"}, as_root_, &out);
  ::unlink((data_dir_ + "/pg.owner").c_str());
}

}  // namespace ctflow::cli
