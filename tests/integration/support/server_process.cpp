#include "tests/integration/support/server_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace ctflow::it {

namespace fs = std::filesystem;

std::string ctflow_bin() {
  return std::string(CTFLOW_BINARY_DIR) + "/ctflow";
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/ctflow-it-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
  path_ = tmpl;
  ::chmod(path_.c_str(), 0755);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string slurp(const std::string& path) {
  // Plain read(2): /proc files report size 0, and a process may vanish while we read.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> out;
  std::istringstream in(slurp(path));
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

bool process_alive(pid_t pid) {
  if (pid <= 0) return false;
  std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  auto rp = stat.rfind(')');
  if (rp == std::string::npos || rp + 2 >= stat.size()) return false;
  return stat[rp + 2] != 'Z' && stat[rp + 2] != 'X';
}

std::vector<pid_t> find_processes(const std::string& needle) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    pid_t pid = std::atoi(e.path().filename().c_str());
    if (pid <= 0 || pid == ::getpid()) continue;
    std::string cmd = slurp(e.path().string() + "/cmdline");
    for (auto& c : cmd)
      if (c == '\0') c = ' ';
    if (cmd.find(needle) != std::string::npos && process_alive(pid)) out.push_back(pid);
  }
  return out;
}

namespace {

// Waits for `pid` up to `timeout`; returns the wait status or nullopt if it is still running.
std::optional<int> wait_for(pid_t pid, std::chrono::milliseconds timeout) {
  std::optional<int> result;
  poll_until(
      [&] {
        int status = 0;
        pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD)) result = status;
        return result.has_value();
      },
      timeout, 5ms);
  return result;
}

pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env,
            const std::string& out_path, const std::string& err_path, bool append) {
  std::map<std::string, std::string> vars;
  for (char** e = environ; *e; ++e) {
    std::string s = *e;
    auto eq = s.find('=');
    if (eq != std::string::npos) vars[s.substr(0, eq)] = s.substr(eq + 1);
  }
  for (const auto& s : env) {
    auto eq = s.find('=');
    if (eq != std::string::npos) vars[s.substr(0, eq)] = s.substr(eq + 1);
  }
  std::vector<std::string> envs;
  for (const auto& [k, v] : vars) envs.push_back(k + "=" + v);
  std::vector<char*> av, ev;
  auto args = argv;
  for (auto& s : args) av.push_back(s.data());
  av.push_back(nullptr);
  for (auto& s : envs) ev.push_back(s.data());
  ev.push_back(nullptr);
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC);
  int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int out = ::open(out_path.c_str(), flags, 0644);
  int err = err_path == out_path ? out : ::open(err_path.c_str(), flags, 0644);
  int report[2] = {-1, -1};  // the child's exec errno, if exec fails
  if (in < 0 || out < 0 || err < 0 || ::pipe2(report, O_CLOEXEC) != 0)
    throw std::runtime_error("cannot open " + out_path + ": " + std::strerror(errno));
  pid_t parent = ::getpid();
  // fork + exec rather than posix_spawn: the child asks for SIGKILL when the test process dies,
  // so a test killed by a timeout or a crash leaves no server behind (only async-signal-safe
  // calls between fork and exec).
  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::execve(av[0], av.data(), ev.data());
    int e = errno;
    (void)!::write(report[1], &e, sizeof e);
    ::_exit(127);
  }
  int fork_errno = errno;
  ::close(report[1]);
  for (int fd : {in, out, err == out ? -1 : err})
    if (fd >= 0) ::close(fd);
  if (pid < 0) {
    ::close(report[0]);
    throw std::runtime_error("cannot fork: " + std::string(std::strerror(fork_errno)));
  }
  int child_errno = 0;
  ssize_t n = ::read(report[0], &child_errno, sizeof child_errno);
  ::close(report[0]);
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    ::waitpid(pid, nullptr, 0);
    throw std::runtime_error("cannot run " + argv[0] + ": " + std::strerror(child_errno));
  }
  return pid;
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

}  // namespace

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                          const std::vector<std::string>& env) {
  TempDir tmp;
  auto t0 = std::chrono::steady_clock::now();
  pid_t pid = spawn(argv, env, tmp / "out", tmp / "err", false);
  CommandResult r;
  auto status = wait_for(pid, timeout);
  if (!status) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    r.rc = 124;
  } else {
    r.rc = exit_code(*status);
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.out = slurp(tmp / "out");
  r.err = slurp(tmp / "err");
  return r;
}

ServerProcess::ServerProcess(ServerConfig cfg) : cfg_(std::move(cfg)) {
  if (cfg_.log_path.empty()) cfg_.log_path = cfg_.data_dir + ".log";
}

ServerProcess::~ServerProcess() {
  stop();
}

std::string ServerProcess::log() const {
  return slurp(cfg_.log_path);
}

std::string ServerProcess::token() const {
  std::string t = slurp(token_file());
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
  return t;
}

std::vector<std::string> ServerProcess::cli_flags() const {
  return {"--url", url_, "--token-file", token_file()};
}

void ServerProcess::start(std::chrono::milliseconds deadline) {
  if (pid_ > 0) throw std::runtime_error("server already running");
  std::vector<std::string> argv{ctflow_bin(), cfg_.embedded ? "up" : "server"};
  if (!cfg_.database_url.empty()) argv.insert(argv.end(), {"--database-url", cfg_.database_url});
  argv.insert(
      argv.end(),
      {"--data-dir", cfg_.data_dir, "--port", "0", "--lease-ms", std::to_string(cfg_.lease_ms),
       "--sweep-ms", std::to_string(cfg_.sweep_ms), "--cancel-grace-ms",
       std::to_string(cfg_.cancel_grace_ms), "--max-parallel", std::to_string(cfg_.max_parallel)});
  argv.insert(argv.end(), cfg_.extra_args.begin(), cfg_.extra_args.end());
  // The log accumulates over restarts; remember where this start's output begins.
  size_t from = log().size();
  pid_ = spawn(argv, {}, cfg_.log_path, cfg_.log_path, true);
  const std::string marker = "API listening on ";
  bool exited = false;
  bool up = poll_until(
      [&] {
        std::string text = log().substr(std::min(from, log().size()));
        auto at = text.find(marker);
        if (at != std::string::npos) {
          auto start = at + marker.size();
          auto end = text.find_first_of(" \n", start);
          if (end != std::string::npos) {
            url_ = text.substr(start, end - start);
            return true;
          }
        }
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) exited = true;
        return exited;
      },
      deadline, 10ms);
  if (!up || exited) {
    if (!exited) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    pid_ = 0;
    throw std::runtime_error(std::string("ctflow server ") + (exited ? "exited" : "did not start") +
                             "; its log:\n" + log());
  }
  // The supervisor was spawned before the API started listening.
  supervisor_pid_ = 0;
  for (const auto& e : fs::directory_iterator("/proc")) {
    if (std::atoi(e.path().filename().c_str()) <= 0) continue;
    std::string stat = slurp(e.path().string() + "/stat");
    auto rp = stat.rfind(')');
    if (rp == std::string::npos || stat.find("(ctflow-superv)") == std::string::npos) continue;
    std::istringstream rest(stat.substr(rp + 2));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == pid_) supervisor_pid_ = std::atoi(e.path().filename().c_str());
  }
}

int ServerProcess::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  auto status = wait_for(pid_, grace);
  if (!status) {
    ::kill(pid_, SIGKILL);
    int s = 0;
    ::waitpid(pid_, &s, 0);
    status = s;
  }
  pid_ = 0;
  return exit_code(*status);
}

void ServerProcess::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = 0;
}

}  // namespace ctflow::it
