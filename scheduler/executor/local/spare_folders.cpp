#include "scheduler/executor/local/spare_folders.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "scheduler/common/named_thread.hpp"

namespace ctflow::exec {

namespace {

bool is_empty_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0;
}

bool is_dir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The process whose slot this is, from its name (<pid>-...), is running.
bool maker_alive(const std::string& name) {
  char* end = nullptr;
  long pid = std::strtol(name.c_str(), &end, 10);
  if (pid <= 0 || end == name.c_str() || *end != '-') return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

const char* const kFiles[] = {"/task.log", "/inputs.json", "/claim.new"};

}  // namespace

SpareFolders::SpareFolders(std::string root, size_t most, std::chrono::milliseconds quiet)
    : dir_(std::move(root) + "/.spares"),
      most_(most),
      want_(std::min<size_t>(most, 16)),
      quiet_(quiet) {
  auto ns = std::chrono::steady_clock::now().time_since_epoch().count();
  tag_ = std::to_string(::getpid()) + "-" + std::to_string(ns) + "-";
  if (most_ > 0) thread_ = named_thread("ctflow-spares", [this] { loop(); });
}

SpareFolders::~SpareFolders() {
  {
    MutexLock g(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool SpareFolders::make(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0 || ::mkdir((path + "/work").c_str(), 0755) != 0)
    return false;
  for (const char* f : kFiles) {
    int fd = ::open((path + f).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return false;
    ::close(fd);
  }
  return true;
}

bool SpareFolders::complete(const std::string& path) {
  if (!is_dir(path + "/work")) return false;
  for (const char* f : kFiles)
    if (!is_empty_file(path + f)) return false;
  return true;
}

bool SpareFolders::take(const std::string& dest) {
  std::string slot;
  {
    MutexLock g(mu_);
    if (unsupported_) return false;
    last_take_ = std::chrono::steady_clock::now();
    if (ready_.empty()) {
      if (want_ < most_) {
        want_ = std::min(most_, want_ * 2);
        cv_.notify_one();
      }
      return false;
    }
    slot = std::move(ready_.front());
    ready_.pop_front();
  }
  int rc = ::renameat2(AT_FDCWD, (slot + "/d").c_str(), AT_FDCWD, dest.c_str(), RENAME_NOREPLACE);
  int err = errno;
  MutexLock g(mu_);
  if (rc == 0) {
    free_.push_back(std::move(slot));
    cv_.notify_one();
    return true;
  }
  if (err == EINVAL || err == ENOSYS) {  // a file system that cannot rename without replacing
    unsupported_ = true;                 // (NFS): no spares from now on
    cv_.notify_one();
    return false;
  }
  if (err == ENOENT && !is_dir(slot + "/d")) {  // removed by hand: make it again
    free_.push_back(std::move(slot));
    cv_.notify_one();
    return false;
  }
  ready_.push_front(std::move(slot));  // dest exists (a cancel's fence made it): keep it
  return false;
}

size_t SpareFolders::wanted() const {
  MutexLock g(mu_);
  return want_;
}

size_t SpareFolders::ready() const {
  MutexLock g(mu_);
  return ready_.size();
}

std::string SpareFolders::new_slot() {
  return dir_ + "/" + tag_ + std::to_string(next_++);
}

void SpareFolders::take_over_leftovers() {
  std::vector<std::string> dead;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir_, ec))
    if (!maker_alive(e.path().filename().string())) dead.push_back(e.path().string());
  for (const auto& old : dead) {
    std::string slot = new_slot();
    if (::rename(old.c_str(), slot.c_str()) != 0) continue;  // another process took it over
    bool whole = complete(slot + "/d");
    if (!whole) std::filesystem::remove_all(slot + "/d", ec);  // half made: made again
    MutexLock g(mu_);
    if (whole)
      ready_.push_back(slot);
    else
      free_.push_back(slot);
  }
}

void SpareFolders::loop() {
  sched_param sp{};
  pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
  ::mkdir(dir_.c_str(), 0755);
  take_over_leftovers();
  mu_.lock();
  while (!stop_) {
    if (ready_.size() >= want_ || unsupported_) {
      cv_.wait(mu_);
      continue;
    }
    auto now = std::chrono::steady_clock::now();
    if (now - last_take_ < quiet_ && ready_.size() > want_ / 8) {  // a burst takes them: after it
      cv_.wait_until(mu_, last_take_ + quiet_);
      continue;
    }
    std::string slot;
    if (!free_.empty()) {
      slot = std::move(free_.back());
      free_.pop_back();
    }
    mu_.unlock();
    if (slot.empty()) {
      slot = new_slot();
      if (::mkdir(slot.c_str(), 0755) != 0) slot.clear();
    }
    bool ok = !slot.empty() && make(slot + "/d");
    if (!ok && !slot.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(slot + "/d", ec);
    }
    mu_.lock();
    if (ok) {
      ready_.push_back(std::move(slot));
    } else {  // a full disk, a missing folder: try again later, never spin
      if (!slot.empty()) free_.push_back(std::move(slot));
      cv_.wait_until(mu_, std::chrono::steady_clock::now() + std::chrono::seconds(1));
    }
  }
  mu_.unlock();
}

}  // namespace ctflow::exec
