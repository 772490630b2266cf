#include "scheduler/executor/local/attempt_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scheduler/common/json_util.hpp"

namespace ctflow::exec {

int open_claim(const std::string& dir) {
  return ::open((dir + "/claim").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
}

bool create_claim(const std::string& dir) {
  int fd = open_claim(dir);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

bool write_pid(int fd, const PidRecord& p) {
  json::object o{{"pid", p.pid}, {"started_at", format_iso8601(p.started_at)}};
  std::string s = json::serialize(o);
  bool ok = ::write(fd, s.data(), s.size()) == static_cast<ssize_t>(s.size());
  ::close(fd);
  return ok;
}

bool write_exit(const std::string& dir, const ExitRecord& e) {
  json::object o;
  if (e.exit_code) o["exit_code"] = *e.exit_code;
  if (e.signal) o["signal"] = *e.signal;
  if (!e.error.empty()) o["error"] = e.error;
  return write_file_atomic(dir + "/exit", json::serialize(o));
}

static std::optional<json::object> read_obj(const std::string& path) {
  auto text = read_file(path, 1 << 16);
  if (!text) return std::nullopt;
  json::error_code ec;
  auto v = json::parse(*text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return v.get_object();
}

std::optional<PidRecord> read_pid(const std::string& dir) {
  auto o = read_obj(dir + "/claim");  // empty or half-written: no record yet
  if (!o) return std::nullopt;
  PidRecord p;
  p.pid = static_cast<int>(get_int(*o, "pid"));
  if (auto t = parse_iso8601(get_string(*o, "started_at"))) p.started_at = *t;
  if (p.pid <= 0) return std::nullopt;
  return p;
}

std::optional<ExitRecord> read_exit(const std::string& dir) {
  auto o = read_obj(dir + "/exit");
  if (!o) return std::nullopt;
  ExitRecord e;
  if (o->contains("exit_code")) e.exit_code = static_cast<int>(get_int(*o, "exit_code"));
  if (o->contains("signal")) e.signal = static_cast<int>(get_int(*o, "signal"));
  e.error = get_string(*o, "error");
  return e;
}

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace ctflow::exec
