#include "scheduler/executor/local/supervisor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "scheduler/common/json_util.hpp"
#include "scheduler/executor/local/attempt_files.hpp"
#include "scheduler/executor/local/leftovers.hpp"
#include "scheduler/executor/local/local_executor.hpp"
#include "scheduler/executor/local/log_pump.hpp"
#include "scheduler/executor/local/resolve_cache.hpp"
#include "scheduler/executor/local/spare_folders.hpp"
#include "scheduler/executor/local/spawner.hpp"

namespace ctflow::exec {

namespace {

struct Child {
  std::string key, dir;
  int claim = -1;  // open until the exit line is written
  TimePoint started_at{};
  std::chrono::steady_clock::time_point announce_at{};  // when "started" is sent, if it runs
  bool announced = false;
  std::unique_ptr<LogPump> log;  // its stdout and stderr into task.log
};

// What one loop pass reads of one task's pipe, so that a task writing without pause does not
// hold up the others or the reaping.
constexpr size_t kPumpBudget = 256 << 10;
// After a sweep that killed something, the next one (what raced with the kills: a child forked
// before its parent was stopped, re-parented here since).
constexpr std::chrono::milliseconds kSweepAgain{20};

// A start is announced only once the task has run this long; a task that ends sooner reports
// its start with its exit, in one message (make bench-sched: one message and two wake-ups less
// per short task). The engine records a start as `running` only after 20 ms anyway.
constexpr std::chrono::milliseconds kAnnounceAfter{10};

class Supervisor {
 public:
  Supervisor(int fd, std::string root, size_t spares, int64_t log_limit)
      : fd_(fd), root_(std::move(root)), spare_count_(spares), log_limit_(log_limit) {}

  int run() {
    server_pid_ = ::getppid();
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    ::prctl(PR_SET_NAME, "ctflow-superv");
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    // The server's Ctrl-C must not kill running tasks' supervisor; it ends when its socket does.
    ::signal(SIGINT, SIG_IGN);
    ::signal(SIGPIPE, SIG_IGN);
    ignored_ = ignored_signals();  // tasks get them back as default
    sfd_ = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    // After the mask: its thread inherits SIGCHLD blocked, so the signalfd gets every one.
    if (!root_.empty()) spares_ = std::make_unique<SpareFolders>(root_, spare_count_);
    spawner_ = std::make_unique<Spawner>(kSpawnThreads, ignored_);
    std::vector<char> buf(1 << 20);
    std::vector<pollfd> p;
    std::vector<pid_t> pumped;  // the child of each pipe in p[3...]
    while (server_alive_ || !children_.empty() || !starting_.empty()) {
      p.assign(
          {{sfd_, POLLIN, 0}, {server_alive_ ? fd_ : -1, POLLIN, 0}, {spawner_->fd(), POLLIN, 0}});
      pumped.clear();
      for (const auto& [pid, c] : children_)
        if (c.log && c.log->fd() >= 0) {
          p.push_back({c.log->fd(), POLLIN, 0});
          pumped.push_back(pid);
        }
      int n = ::poll(p.data(), p.size(), poll_timeout());
      if (n < 0 && errno != EINTR) return 1;
      announce_due();
      // Output before exits: what a task wrote is in its log before its exit is recorded.
      for (size_t i = 0; i < pumped.size(); ++i)
        if (p[3 + i].revents & (POLLIN | POLLHUP | POLLERR))
          if (auto it = children_.find(pumped[i]); it != children_.end())
            it->second.log->pump(kPumpBudget);
      // Messages first: a disarm sent before a cancel's signal is handled before its exit.
      if (server_alive_ && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) read_messages(buf);
      if (p[2].revents & POLLIN) started();
      if (p[0].revents & POLLIN) {
        if (server_alive_) read_messages(buf);
        reap();
      }
      if (sweep_at_ && *sweep_at_ <= std::chrono::steady_clock::now()) sweep();
    }
    // The last tasks' leftovers: swept again while sweeps still find some (bounded).
    for (int i = 0; i < 10 && sweep_at_; ++i) {
      std::this_thread::sleep_until(*sweep_at_);
      sweep();
    }
    spawner_.reset();
    return 0;
  }

 private:
  // Milliseconds until the next start to announce or the next sweep (-1: none).
  int poll_timeout() const {
    auto now = std::chrono::steady_clock::now();
    std::optional<std::chrono::steady_clock::duration> wait;
    if (sweep_at_) wait = *sweep_at_ - now;
    if (server_alive_)
      for (const auto& [pid, c] : children_)
        if (!c.announced) wait = std::min(wait.value_or(c.announce_at - now), c.announce_at - now);
    if (!wait) return -1;
    return static_cast<int>(
        std::max<int64_t>(0, std::chrono::ceil<std::chrono::milliseconds>(*wait).count()));
  }

  void announce_due() {
    auto now = std::chrono::steady_clock::now();
    for (auto& [pid, c] : children_)
      if (!c.announced && c.announce_at <= now) {
        c.announced = true;
        send({{"ev", "started"},
              {"key", c.key},
              {"pid", pid},
              {"at", format_iso8601(c.started_at)}});
      }
  }

  void send(const json::object& o) {
    if (!server_alive_) return;
    std::string s = json::serialize(o);
    if (::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) < 0) server_alive_ = false;
  }

  void read_messages(std::vector<char>& buf) {
    for (;;) {
      ssize_t len = ::recv(fd_, buf.data(), buf.size(), MSG_DONTWAIT);
      if (len < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
      if (len <= 0) {
        server_alive_ = false;
        armed_.clear();  // nobody would record them
        queue_.clear();  // an adopter fences them and dispatches them again
        armed_keys_.clear();
        return;
      }
      handle(std::string_view(buf.data(), static_cast<size_t>(len)));
    }
  }

  void handle(std::string_view msg) {
    json::error_code ec;
    auto v = json::parse(msg, ec);
    if (ec || !v.is_object()) return;
    const auto& o = v.get_object();
    std::string op = get_string(o, "op");
    if (op == "spawn") queue_or_spawn(o);
    if (op == "limit") {
      limit_ = get_int(o, "n");
      if (server_alive_) start_queued();  // room may have grown
    }
    if (op == "prepare") prepare(o);
    if (op == "arm") arm(o);
    if (op == "disarm") drop(get_string(o, "after"));
  }

  // A child to start when `after` (running, or armed itself) succeeds; dropped if `after` is
  // neither (it ended already: the engine learns from its exit that nothing fired).
  void arm(const json::object& o) {
    std::string after = get_string(o, "after");
    const auto* sp = o.if_contains("spawn");
    if (!sp || !sp->is_object()) return;
    std::string key = get_string(sp->get_object(), "key");
    if (key.empty() || armed_keys_.count(key)) return;
    if (!running(after) && !armed_keys_.count(after)) return;
    armed_[after].push_back(sp->get_object());
    armed_keys_.insert(key);
    json::object dirs{{"dirs", json::array{sp->get_object().at("dir")}}};
    prepare(dirs);  // its folder now, while `after` runs
  }

  bool running(const std::string& key) const {  // at most max-parallel children: a walk
    if (starting_.count(key)) return true;
    for (const auto& [pid, c] : children_)
      if (c.key == key) return true;
    return false;
  }

  // Drops what is armed on `key`, recursively.
  void drop(const std::string& key) {
    auto it = armed_.find(key);
    if (it == armed_.end()) return;
    auto list = std::move(it->second);
    armed_.erase(it);
    for (const auto& m : list) {
      std::string k = get_string(m, "key");
      armed_keys_.erase(k);
      drop(k);
    }
  }

  void fail(const std::string& key, int claim, const std::string& error) {
    drop(key);
    ExitRecord e;
    e.error = error;
    write_exit(claim, e);
    ::close(claim);
    send({{"ev", "exited"}, {"key", key}, {"error", error}, {"at", format_iso8601(now_utc())}});
  }

  // Folders of attempts that may start soon, a spare or made like one while the current task
  // runs, so that its start creates no inode (make bench-sched: five file creations per task,
  // each 30-100 us on ext4). A folder that exists already is left alone.
  void prepare(const json::object& o) {
    const auto* dirs = o.if_contains("dirs");
    if (!dirs || !dirs->is_array()) return;
    for (const auto& d : dirs->get_array()) {
      if (!d.is_string()) continue;
      std::string dir(d.get_string());
      if (!take_spare(dir)) SpareFolders::make(dir);  // fails at once if the folder exists
    }
  }

  // Attempts dispatched ahead wait here until one of the `limit_` running ends (the engine
  // dispatches up to twice its slots, so that a slot never waits for its statement).
  size_t running_count() const { return children_.size() + starting_.size(); }
  void queue_or_spawn(const json::object& o) {
    if (limit_ >= 0 && running_count() >= static_cast<size_t>(limit_))
      queue_.push_back(o);
    else
      spawn(o);
  }
  void start_queued() {
    while (!queue_.empty() && (limit_ < 0 || running_count() < static_cast<size_t>(limit_))) {
      json::object o = std::move(queue_.front());
      queue_.pop_front();
      spawn(o);
    }
  }

  void spawn(const json::object& o) {
    std::string key = get_string(o, "key"), dir = get_string(o, "dir");
    // The folder is there (made by the server, or prepared) unless the server lost a race with
    // a cancel's fence, which makes it too, or it was armed: then a spare one, or one made here
    // (and a missing root with it).
    std::error_code ec;
    const auto* by_server = o.if_contains("made");
    bool spare = !(by_server && by_server->is_bool() && by_server->get_bool()) && take_spare(dir);
    bool made = !spare && ::mkdir(dir.c_str(), 0755) == 0;
    if (!spare && !made && errno == ENOENT) make_attempt_dir(dir, ec);
    int claim = open_claim(dir);
    if (claim < 0) {
      std::string error = errno == EEXIST ? "attempt was fenced by an adopter"
                                          : "cannot create " + dir + "/claim: " + strerror(errno);
      drop(key);
      send({{"ev", "exited"}, {"key", key}, {"error", error}});
      return;
    }
    if (made) make_attempt_dir(dir, ec);  // its work/ too
    if (auto* f = o.if_contains("files"); f && f->is_object())
      for (const auto& [name, content] : f->get_object())
        if (!ec &&
            !write_attempt_file(dir + "/" + std::string(name), std::string(content.as_string())))
          ec = std::error_code(errno, std::generic_category());
    if (ec) {
      fail(key, claim, "cannot create " + dir + ": " + ec.message());
      return;
    }
    auto job = std::make_unique<SpawnJob>();
    if (auto* a = o.if_contains("argv"))
      for (const auto& s : a->as_array()) job->argv.emplace_back(s.as_string());
    if (auto* e = o.if_contains("env"))
      for (const auto& s : e->as_array()) job->env.emplace_back(s.as_string());
    job->exe = job->argv.empty() ? "" : resolved_.resolve(job->argv[0], get_string(o, "path"));
    if (job->exe.empty()) {
      fail(key, claim, "command not found: " + (job->argv.empty() ? "" : job->argv[0]));
      return;
    }
    job->env.push_back(std::string(kAttemptKeyEnv) + "=" + key);  // whose a leftover is
    job->pipe_output = true;
    job->key = key;
    job->dir = dir;
    job->log = dir + "/task.log";
    job->work = dir + "/work";
    job->claim = claim;
    // With at most one task running and no other start under way, the child finds a core at
    // once: started here, as a chain's steps are (a thread's hand-off cost them more).
    if (starting_.empty() && children_.size() < 2) {
      job->rc = Spawner::start(*job, ignored_);
      record(*job);
      return;
    }
    starting_.insert(key);
    spawner_->submit(std::move(job));
  }

  // Starts the spawner threads finished: each child recorded, or the start's failure.
  void started() {
    for (auto& job : spawner_->done()) {
      starting_.erase(job->key);
      record(*job);
    }
    reap();  // one may have ended before its pid was known here
  }

  void record(const SpawnJob& job) {
    if (job.rc != 0) {
      resolved_.clear();  // gone since it was looked up, perhaps: look again next time
      fail(job.key, job.claim,
           std::string(job.rc == ENOENT ? "command not found: " : "cannot start ") + job.argv[0] +
               (job.rc == ENOENT ? "" : ": " + std::string(strerror(job.rc))));
      return;
    }
    auto now = now_utc();
    write_pid(job.claim, {job.pid, now});  // the record a cancel or an adopter reads the pid from
    children_[job.pid] = {job.key,
                          job.dir,
                          job.claim,
                          now,
                          std::chrono::steady_clock::now() + kAnnounceAfter,
                          false,
                          std::make_unique<LogPump>(job.out, job.log_fd, log_limit_)};
  }

  void reap() {
    signalfd_siginfo si;
    while (::read(sfd_, &si, sizeof si) == sizeof si) {
    }
    // Any child that ended, while no start is under way: a task, or an orphaned grandchild
    // (this is its subreaper): reaped, nothing to record. Otherwise known children by pid only:
    // an unknown one may be a start whose spawner thread has not returned yet (reaped once it is
    // known, by started()). A task's end can start what was armed on it: checked each time.
    int status = 0;
    pid_t pid;
    while (starting_.empty() && (pid = ::waitpid(-1, &status, WNOHANG)) > 0)
      if (auto it = children_.find(pid); it != children_.end())
        ended(it, status);
      else
        sweep_soon();  // an orphan ended: its own children, if any, are orphans here now
    if (!starting_.empty())
      for (auto it = children_.begin(); it != children_.end();) {
        if (::waitpid(it->first, &status, WNOHANG) == it->first)
          it = ended(it, status);
        else
          ++it;
      }
    if (server_alive_) start_queued();
  }

  std::map<pid_t, Child>::iterator ended(std::map<pid_t, Child>::iterator it, int status) {
    pid_t pid = it->first;
    ExitRecord e;
    json::object msg{{"ev", "exited"}, {"key", it->second.key}, {"pid", pid}};
    if (!it->second.announced) msg["started_at"] = format_iso8601(it->second.started_at);
    if (WIFEXITED(status)) {
      e.exit_code = WEXITSTATUS(status);
      msg["exit_code"] = *e.exit_code;
    } else if (WIFSIGNALED(status)) {
      e.signal = WTERMSIG(status);
      msg["signal"] = *e.signal;
    }
    // The task is over with its main process: what is left of its group is killed now (the
    // orphans that left it, by the sweep), and its log completed before its exit is recorded.
    ::killpg(pid, SIGKILL);
    sweep_soon();
    Child& c = it->second;
    c.log->finish(1 << 20);
    if (!c.log->error().empty()) {  // its log could not be kept (a full disk): it failed
      e.error = c.log->error();
      msg["error"] = e.error;
    }
    // What is armed on it starts now if it succeeded, as the engine would have decided
    // (exit 0, outputs {}), while the server lives: its "next" lines go into the claim before
    // the exit line, and the server's death is checked after them (it reparents this process
    // before any adopter can see it dead and read the claim), so an adopter either finds
    // them or nothing was started.
    std::vector<json::object> fire;
    if (auto a = armed_.find(it->second.key); a != armed_.end()) {
      if (e.exit_code == 0 && e.error.empty() && server_alive_ && no_outputs(it->second.dir)) {
        fire = std::move(a->second);
        armed_.erase(a);
        for (const auto& m : fire)
          write_next(it->second.claim, get_string(m, "key"), get_string(m, "dir"));
        bool server_gone = ::getppid() != server_pid_;
        for (const auto& m : fire) {
          armed_keys_.erase(get_string(m, "key"));
          if (server_gone) drop(get_string(m, "key"));
        }
        if (server_gone) fire.clear();
      }
      drop(it->second.key);  // not started: nor is anything below
    }
    write_exit(it->second.claim, e);
    ::close(it->second.claim);
    msg["at"] = format_iso8601(now_utc());
    if (!fire.empty()) {
      json::array keys;
      for (const auto& m : fire) keys.emplace_back(m.at("key"));
      msg["fired"] = std::move(keys);
    }
    send(msg);
    auto next = children_.erase(it);
    for (const auto& m : fire) spawn(m);  // in the slot its parent leaves
    return next;
  }

  bool take_spare(const std::string& dir) { return spares_ && spares_->take(dir); }

  void sweep_soon() { sweep_at_ = std::chrono::steady_clock::now(); }

  // Kills the process trees of orphans (leftovers.hpp) whose task is no longer running.
  void sweep() {
    sweep_at_.reset();
    std::set<std::string> live = starting_;
    for (const auto& [pid, c] : children_) live.insert(c.key);
    size_t killed = 0;
    for (pid_t pid : orphan_candidates()) {
      if (children_.count(pid)) continue;
      std::string key = attempt_key_of(pid);
      if (!key.empty() && !live.count(key)) killed += kill_tree(pid);
    }
    if (killed > 0) sweep_at_ = std::chrono::steady_clock::now() + kSweepAgain;
  }

  ResolveCache resolved_;  // LocalExecutor::resolve, remembered for a second

  int fd_;
  const std::string root_;  // the attempts folder: spare folders are made under it
  const size_t spare_count_;
  const int64_t log_limit_;  // bytes of task.log per attempt (-1: no limit)
  std::optional<std::chrono::steady_clock::time_point> sweep_at_;  // when to sweep() next
  std::unique_ptr<SpareFolders> spares_;
  static constexpr size_t kSpawnThreads = 2;
  std::unique_ptr<Spawner> spawner_;
  std::set<std::string> starting_;  // keys handed to the spawner, not yet in children_
  int sfd_ = -1;
  sigset_t ignored_;  // signals this process ignores: reset to default in tasks
  bool server_alive_ = true;
  pid_t server_pid_ = 0;
  std::map<pid_t, Child> children_;
  // Armed: parent key -> the spawn messages of what starts when it succeeds; all their keys.
  std::map<std::string, std::vector<json::object>> armed_;
  std::set<std::string> armed_keys_;
  int64_t limit_ = -1;  // attempts of this supervisor running at once (-1: no limit)
  std::deque<json::object> queue_;
};

}  // namespace

int supervisor_main(int fd, const std::string& root, size_t spares, int64_t log_limit) {
  return Supervisor(fd, root, spares, log_limit).run();
}

}  // namespace ctflow::exec
