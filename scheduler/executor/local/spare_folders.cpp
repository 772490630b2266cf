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

// The process whose pool a spare is in, from its name (<pid>-...), is running.
bool maker_alive(const std::string& name) {
  char* end = nullptr;
  long pid = std::strtol(name.c_str(), &end, 10);
  if (pid <= 0 || end == name.c_str() || *end != '-') return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

}  // namespace

SpareFolders::SpareFolders(std::string root, size_t most)
    : dir_(std::move(root) + "/.spares"), most_(most), want_(std::min<size_t>(most, 16)) {
  auto ns = std::chrono::steady_clock::now().time_since_epoch().count();
  tag_ = std::to_string(::getpid()) + "-" + std::to_string(ns) + "-";
  if (most_ > 0) thread_ = std::thread([this] { loop(); });
}

SpareFolders::~SpareFolders() {
  {
    std::lock_guard<std::mutex> g(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool SpareFolders::make(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0 || ::mkdir((path + "/work").c_str(), 0755) != 0)
    return false;
  for (const char* f : {"/task.log", "/inputs.json", "/claim.new"}) {
    int fd = ::open((path + f).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return false;
    ::close(fd);
  }
  return true;
}

bool SpareFolders::take(const std::string& dest) {
  for (;;) {
    std::string src;
    {
      std::lock_guard<std::mutex> g(mu_);
      if (unsupported_) return false;
      if (ready_.empty()) {
        if (want_ < most_) {
          want_ = std::min(most_, want_ * 2);
          cv_.notify_one();
        }
        return false;
      }
      src = std::move(ready_.front());
      ready_.pop_front();
    }
    cv_.notify_one();
    if (::renameat2(AT_FDCWD, src.c_str(), AT_FDCWD, dest.c_str(), RENAME_NOREPLACE) == 0)
      return true;
    if (errno == ENOENT && is_dir(dest.substr(0, dest.find_last_of('/'))))
      continue;  // taken by another process sharing the folder
    int err = errno;
    std::lock_guard<std::mutex> g(mu_);
    if (err == EINVAL || err == ENOSYS) {  // a file system that cannot rename without replacing
      unsupported_ = true;                 // (NFS): no spares from now on
      cv_.notify_one();
      return false;
    }
    ready_.push_front(std::move(src));  // dest exists (a cancel's fence made it): keep it
    return false;
  }
}

size_t SpareFolders::wanted() const {
  std::lock_guard<std::mutex> g(mu_);
  return want_;
}

size_t SpareFolders::ready() const {
  std::lock_guard<std::mutex> g(mu_);
  return ready_.size();
}

void SpareFolders::adopt_leftovers() {
  std::error_code ec;
  std::deque<std::string> found;
  for (const auto& e : std::filesystem::directory_iterator(dir_, ec)) {
    std::string p = e.path().string();
    if (maker_alive(e.path().filename().string())) continue;  // its maker keeps count of it
    // Complete ones only: a half-made one, its maker dead, is left.
    if (is_dir(p + "/work") && is_empty_file(p + "/task.log") && is_empty_file(p + "/inputs.json"))
      found.push_back(std::move(p));
  }
  std::lock_guard<std::mutex> g(mu_);
  for (auto& p : found) ready_.push_back(std::move(p));
}

void SpareFolders::loop() {
  sched_param sp{};
  pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
  pthread_setname_np(pthread_self(), "ctflow-spares");
  ::mkdir(dir_.c_str(), 0755);
  adopt_leftovers();
  std::unique_lock<std::mutex> lk(mu_);
  while (!stop_) {
    if (ready_.size() >= want_ || unsupported_) {
      cv_.wait(lk);
      continue;
    }
    std::string path = dir_ + "/" + tag_ + std::to_string(next_++);
    lk.unlock();
    bool ok = make(path);
    lk.lock();
    if (ok) {
      ready_.push_back(std::move(path));
    } else {  // a full disk, a missing folder: try again later, never spin
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
      cv_.wait_for(lk, std::chrono::seconds(1));
    }
  }
}

}  // namespace ctflow::exec
