#pragma once
// LogPump: one task's stdout and stderr, a pipe that the supervisor drains into the attempt's
// task.log, up to a limit per attempt. Past the limit the output is still read (so the task never
// blocks on a full pipe) but dropped, and finish() ends the log with one marker line:
//   [ctflow] log truncated at 64 MiB; 1006632960 bytes dropped
// A write to task.log that fails (the disk is full) drops the rest the same way and is kept as
// error(), which the supervisor reports as the attempt's failure.
//
// Owned and called by the supervisor's thread only. It owns both descriptors.
#include <cstdint>
#include <string>

namespace ctflow::exec {

class LogPump {
 public:
  // `pipe_fd`: the read end (made non-blocking here); `log_fd`: task.log, opened for append.
  // `limit` < 0: no limit.
  LogPump(int pipe_fd, int log_fd, int64_t limit);
  ~LogPump();
  LogPump(const LogPump&) = delete;
  LogPump& operator=(const LogPump&) = delete;

  int fd() const { return pipe_; }  // -1 once the pipe ended
  // Reads what the pipe holds, at most `budget` bytes; false once it ended (every writer closed
  // its end, or an error), and the pipe is then closed.
  bool pump(size_t budget);
  // Reads what is still in the pipe without waiting (at most `budget`), closes it, writes the
  // marker line if something was dropped, and closes the log. Idempotent.
  void finish(size_t budget = 64u << 20);

  int64_t written() const { return written_; }
  int64_t dropped() const { return dropped_; }
  // "task.log: No space left on device" after a failed write; "" otherwise.
  const std::string& error() const { return error_; }

  // The marker's size text: "64 MiB", "512 KiB" or "1000 bytes".
  static std::string size_text(int64_t bytes);

 private:
  void keep(const char* data, size_t n);

  int pipe_ = -1, log_ = -1;
  const int64_t limit_;
  int64_t written_ = 0, dropped_ = 0;
  bool newline_last_ = true;  // the last byte written ends a line (or nothing was written)
  std::string error_;
};

}  // namespace ctflow::exec
