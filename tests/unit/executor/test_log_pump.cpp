// LogPump: a task's output pipe copied into task.log up to a limit, the rest read and dropped,
// one marker line at the end; a log that cannot be written (/dev/full: ENOSPC) is an error.
#include <fcntl.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>

#include "scheduler/executor/local/log_pump.hpp"
#include "tests/unit/executor/temp_folder.hpp"

using ctflow::exec::LogPump;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    r = fds[0];
    w = fds[1];
  }
  void write(const std::string& s) { REQUIRE(::write(w, s.data(), s.size()) == ssize_t(s.size())); }
  void close() { ::close(w), w = -1; }
  ~Pipe() {
    if (w >= 0) ::close(w);
  }
};

int open_log(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
}

}  // namespace

TEST_CASE("log pump: under the limit everything is kept and no marker is written", "[executor]") {
  ctflow::test::TempFolder t("ctflow-pump");
  Pipe p;
  LogPump pump(p.r, open_log(t.path("task.log")), 1024);
  p.write("hello\n");
  CHECK(pump.pump(1 << 16));  // still open
  p.write("world\n");
  p.close();
  CHECK_FALSE(pump.pump(1 << 16));  // ended
  pump.finish();
  CHECK(slurp(t.path("task.log")) == "hello\nworld\n");
  CHECK(pump.dropped() == 0);
  CHECK(pump.error().empty());
}

TEST_CASE("log pump: past the limit the output is drained and one marker line ends the log",
          "[executor]") {
  ctflow::test::TempFolder t("ctflow-pump");
  Pipe p;
  LogPump pump(p.r, open_log(t.path("task.log")), 1024);
  // 200 KiB through a 64 KiB pipe: the writer would block if the pump stopped reading.
  std::string line(99, 'x');
  line += '\n';
  for (int i = 0; i < 2048; ++i) {
    p.write(line);
    if (i % 256 == 0) pump.pump(1 << 16);
  }
  p.close();
  pump.finish();
  std::string log = slurp(t.path("task.log"));
  std::string marker =
      "\n[ctflow] log truncated at 1 KiB; " + std::to_string(204800 - 1024) + " bytes dropped\n";
  CHECK(log.size() == 1024 + marker.size());
  std::string all;
  for (int i = 0; i < 11; ++i) all += line;
  CHECK(log.substr(0, 1024) == all.substr(0, 1024));  // the first 1 KiB, as written
  CHECK(log.substr(1024) == marker);
  CHECK(pump.written() == 1024);
  CHECK(pump.dropped() == 204800 - 1024);
}

TEST_CASE("log pump: a full disk is the attempt's error - the output is still drained",
          "[executor]") {
  Pipe p;
  LogPump pump(p.r, ::open("/dev/full", O_WRONLY), -1);  // every write: ENOSPC
  p.write("something\n");
  p.close();
  pump.finish();
  CHECK(pump.error() == "task.log: No space left on device");
  CHECK(pump.dropped() == 10);
}

TEST_CASE("log pump: the marker's sizes", "[executor]") {
  CHECK(LogPump::size_text(64 << 20) == "64 MiB");
  CHECK(LogPump::size_text(512 << 10) == "512 KiB");
  CHECK(LogPump::size_text(1000) == "1000 bytes");
}
