#include "tests/integration/support/pg_cluster.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pqxx/pqxx>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace ctflow::it {

namespace fs = std::filesystem;

namespace {

std::string random_suffix(size_t n) {
  static const char* kChars = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device rd;
  std::string s;
  for (size_t i = 0; i < n; ++i) s.push_back(kChars[rd() % 36]);
  return s;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

std::string postgres_bin_dir() {
  if (const char* b = std::getenv("CTFLOW_TEST_PG_BIN"); b && *b) return b;
  std::error_code ec;
  std::string best;
  int best_v = 0;
  for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    int v = std::atoi(e.path().filename().c_str());
    if (v > best_v && fs::exists(e.path() / "bin" / "pg_ctl")) {
      best_v = v;
      best = (e.path() / "bin").string();
    }
  }
  if (best.empty())
    throw std::runtime_error("PostgreSQL is not installed (/usr/lib/postgresql/*/bin/pg_ctl)");
  return best;
}

int run_captured(const std::vector<std::string>& argv, std::string* output, bool as_postgres) {
  std::vector<std::string> full;
  if (as_postgres) full = {"/usr/sbin/runuser", "-u", "postgres", "--"};
  full.insert(full.end(), argv.begin(), argv.end());
  std::vector<char*> av;
  for (auto& s : full) av.push_back(s.data());
  av.push_back(nullptr);
  char tmpl[] = "/tmp/ctflow-it-out-XXXXXX";
  int fd = ::mkstemp(tmpl);
  if (fd < 0) throw std::runtime_error(std::string("mkstemp: ") + std::strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, fd, 1);
  posix_spawn_file_actions_adddup2(&fa, fd, 2);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, av[0], &fa, nullptr, av.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(fd);
  if (rc != 0) {
    ::unlink(tmpl);
    throw std::runtime_error("cannot run " + full[0] + ": " + std::strerror(rc));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (output) {
    std::ifstream in(tmpl);
    output->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  ::unlink(tmpl);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

std::string PgCluster::initdb_template() const {
  // One initdb per machine, PostgreSQL version and user: a copy of its folder (cp -a, owner
  // kept) starts a cluster in a tenth of initdb's time, and every integration test process
  // starts one. Made in a folder of its own and renamed into place whole, so a reader never
  // sees half of it; two processes racing both make one and the second rename loses.
  std::string dir = "/tmp/ctflow-it-pg-template-" +
                    fs::path(bin_).parent_path().filename().string() +
                    (as_postgres_ ? "-postgres" : "-" + std::to_string(::geteuid()));
  if (fs::exists(dir + "/data/PG_VERSION")) return dir;
  std::string tmp = dir + ".tmp-" + random_suffix(8), out;
  fs::create_directories(tmp);
  ::chmod(tmp.c_str(), 0755);
  if (as_postgres_) {
    struct passwd* pw = ::getpwnam("postgres");
    if (!pw || ::chown(tmp.c_str(), pw->pw_uid, pw->pw_gid) != 0)
      throw std::runtime_error("cannot give " + tmp + " to the user \"postgres\"");
  }
  int rc = run_captured({bin_ + "/initdb", "--no-sync", "-D", tmp + "/data", "-A", "trust", "-U",
                         "postgres", "-E", "UTF8", "--locale=C.UTF-8"},
                        &out, as_postgres_);
  std::error_code ec;
  if (rc != 0) {
    fs::remove_all(tmp, ec);
    throw std::runtime_error("initdb failed (" + std::to_string(rc) + "): " + out);
  }
  if (::rename(tmp.c_str(), dir.c_str()) != 0) fs::remove_all(tmp, ec);  // another one won
  return dir;
}

PgCluster& PgCluster::shared() {
  // Constructed on first use, destroyed at exit (after every test, whose servers are gone).
  static PgCluster cluster;
  return cluster;
}

PgCluster::PgCluster() {
  bin_ = postgres_bin_dir();
  as_postgres_ = ::geteuid() == 0;
  char tmpl[] = "/tmp/ctflow-it-pg-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
  root_ = tmpl;
  // mkdtemp makes the folder 0700; the cluster's user must reach it.
  ::chmod(root_.c_str(), 0755);
  if (as_postgres_) {
    struct passwd* pw = ::getpwnam("postgres");
    if (!pw) throw std::runtime_error("running as root needs the user \"postgres\"");
    if (::chown(root_.c_str(), pw->pw_uid, pw->pw_gid) != 0)
      throw std::runtime_error("chown " + root_ + ": " + std::strerror(errno));
  }
  start_reaper();  // from here on the folder goes away with this process, whatever happens
  std::string data = root_ + "/data", out;
  int rc = run_captured({"/bin/cp", "-a", initdb_template() + "/data", data}, &out);
  if (rc != 0) throw std::runtime_error("cp of the initdb template failed: " + out);
  {
    std::ofstream conf(data + "/postgresql.conf", std::ios::app);
    conf << "\n# ctflow integration tests\n"
         << "listen_addresses = ''\n"
         << "unix_socket_directories = '" << root_ << "'\n"
         << "fsync = on\nsynchronous_commit = on\n"
         << "max_connections = 300\n"
         << "shared_buffers = 32MB\n";
  }
  rc = run_captured(
      {bin_ + "/pg_ctl", "-D", data, "-l", root_ + "/server.log", "-w", "-t", "60", "start"}, &out,
      as_postgres_);
  if (rc != 0) {
    std::ifstream log(root_ + "/server.log");
    std::string l((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    throw std::runtime_error("pg_ctl start failed: " + out + "\n" + l);
  }
}

void PgCluster::crash() {
  std::string out;
  int rc = run_captured({bin_ + "/pg_ctl", "-D", root_ + "/data", "-m", "immediate", "-w", "stop"},
                        &out, as_postgres_);
  if (rc != 0) throw std::runtime_error("pg_ctl stop -m immediate failed: " + out);
}

void PgCluster::start() {
  std::string out;
  int rc = run_captured({bin_ + "/pg_ctl", "-D", root_ + "/data", "-l", root_ + "/server.log", "-w",
                         "-t", "60", "start"},
                        &out, as_postgres_);
  if (rc != 0) throw std::runtime_error("pg_ctl start failed: " + out);
}

PgCluster::~PgCluster() {
  // Closing the pipe is the reaper's signal; wait for it so the folder is gone when we exit.
  if (reaper_fd_ >= 0) ::close(reaper_fd_);
  if (reaper_pid_ > 0) {
    int status = 0;
    while (::waitpid(reaper_pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

void PgCluster::start_reaper() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  std::string script = "(" + std::string(as_postgres_ ? "/usr/sbin/runuser -u postgres -- " : "") +
                       shell_quote(bin_ + "/pg_ctl") + " -D " + shell_quote(root_ + "/data") +
                       " -m immediate -w stop) >/dev/null 2>&1; rm -rf " + shell_quote(root_);
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    // The reaper: its own session (a terminal's Ctrl-C must not end it before it cleaned up);
    // it waits until every writer of the pipe (only the test process) is gone.
    ::setsid();
    // Hold nothing of the test process open (ctest reads its output until every writer closed).
    int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    ::dup2(p[0], 3);
    ::close_range(4, ~0U, 0);
    p[0] = 3;
    char c;
    while (::read(p[0], &c, 1) != 0) {
      if (errno != EINTR) break;
    }
    ::execl("/bin/sh", "sh", "-c", script.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(p[0]);
  reaper_fd_ = p[1];
  reaper_pid_ = pid;
}

std::string PgCluster::url(const std::string& database) const {
  return "postgresql:///" + database + "?host=" + root_ + "&user=postgres";
}

void PgCluster::exec_admin(const std::string& sql) {
  std::lock_guard<std::mutex> g(mu_);
  pqxx::connection c(url("postgres"));
  pqxx::nontransaction tx(c);
  tx.exec(sql);
}

std::string PgCluster::create_database() {
  std::string name = "t_" + random_suffix(12);
  exec_admin("CREATE DATABASE " + name);
  return url(name);
}

}  // namespace ctflow::it
