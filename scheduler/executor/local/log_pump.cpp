#include "scheduler/executor/local/log_pump.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace ctflow::exec {

namespace {
// One buffer for every pump: the supervisor has one thread.
char g_buf[1 << 16];
}  // namespace

LogPump::LogPump(int pipe_fd, int log_fd, int64_t limit)
    : pipe_(pipe_fd), log_(log_fd), limit_(limit) {
  if (pipe_ >= 0) ::fcntl(pipe_, F_SETFL, ::fcntl(pipe_, F_GETFL) | O_NONBLOCK);
  if (log_ < 0) error_ = "task.log: cannot be opened";
}

LogPump::~LogPump() {
  if (pipe_ >= 0) ::close(pipe_);
  if (log_ >= 0) ::close(log_);
}

std::string LogPump::size_text(int64_t bytes) {
  if (bytes > 0 && bytes % (1 << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  if (bytes > 0 && bytes % (1 << 10) == 0) return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " bytes";
}

void LogPump::keep(const char* data, size_t n) {
  size_t room = n;
  if (limit_ >= 0) room = static_cast<size_t>(std::clamp<int64_t>(limit_ - written_, 0, n));
  if (!error_.empty() || log_ < 0) room = 0;
  size_t done = 0;
  while (done < room) {
    ssize_t w = ::write(log_, data + done, room - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {  // disk full, quota: the rest is dropped, and the attempt fails for it
      error_ = std::string("task.log: ") + (w < 0 ? std::strerror(errno) : "short write");
      break;
    }
    done += static_cast<size_t>(w);
  }
  if (done > 0) newline_last_ = data[done - 1] == '\n';
  written_ += static_cast<int64_t>(done);
  dropped_ += static_cast<int64_t>(n - done);
}

bool LogPump::pump(size_t budget) {
  while (pipe_ >= 0 && budget > 0) {
    ssize_t n = ::read(pipe_, g_buf, std::min(budget, sizeof g_buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    if (n <= 0) {
      ::close(pipe_);
      pipe_ = -1;
      return false;
    }
    keep(g_buf, static_cast<size_t>(n));
    budget -= static_cast<size_t>(n);
  }
  return pipe_ >= 0;
}

void LogPump::finish(size_t budget) {
  pump(budget);
  if (pipe_ >= 0) {  // a writer still holds it (being killed): what it writes now is not read
    ::close(pipe_);
    pipe_ = -1;
  }
  if (log_ < 0) return;
  if (dropped_ > 0 && error_.empty()) {
    std::string marker = std::string(newline_last_ ? "" : "\n") + "[ctflow] log truncated at " +
                         size_text(limit_) + "; " + std::to_string(dropped_) + " bytes dropped\n";
    (void)!::write(log_, marker.data(), marker.size());
  }
  ::close(log_);
  log_ = -1;
}

}  // namespace ctflow::exec
