#include "scheduler/executor/local/attempt_files.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string_view>

#include "scheduler/common/json_util.hpp"

namespace ctflow::exec {

namespace {

bool write_line(int fd, const json::object& o) {
  std::string s = json::serialize(o) + "\n";
  return ::write(fd, s.data(), s.size()) == static_cast<ssize_t>(s.size());
}

json::object exit_object(const ExitRecord& e) {
  json::object o;
  if (e.exit_code) o["exit_code"] = *e.exit_code;
  if (e.signal) o["signal"] = *e.signal;
  if (!e.error.empty()) o["error"] = e.error;
  return o;
}

// The complete lines of the claim file, parsed; a last line without its newline is skipped.
template <class Fn>
void each_record(const std::string& dir, Fn fn) {
  auto text = read_file(dir + "/claim", 1 << 16);
  if (!text) return;
  std::string_view rest(*text);
  for (size_t nl; (nl = rest.find('\n')) != std::string_view::npos; rest.remove_prefix(nl + 1)) {
    json::error_code ec;
    auto v = json::parse(rest.substr(0, nl), ec);
    if (!ec && v.is_object()) fn(v.get_object());
  }
}

}  // namespace

int open_claim(const std::string& dir) {
  std::string claim = dir + "/claim";
  // A spare folder brings an empty claim.new: renaming it without replacing is as exclusive as
  // O_EXCL (it fails if the claim exists) and allocates no inode.
  if (::renameat2(AT_FDCWD, (dir + "/claim.new").c_str(), AT_FDCWD, claim.c_str(),
                  RENAME_NOREPLACE) == 0)
    return ::open(claim.c_str(), O_WRONLY | O_CLOEXEC);
  if (errno == EEXIST) return -1;
  return ::open(claim.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
}

bool create_claim(const std::string& dir, const std::optional<ExitRecord>& exit) {
  int fd = open_claim(dir);
  if (fd < 0) return false;
  if (exit) write_exit(fd, *exit);
  ::close(fd);
  return true;
}

bool write_pid(int fd, const PidRecord& p) {
  return write_line(fd, {{"pid", p.pid}, {"started_at", format_iso8601(p.started_at)}});
}

bool write_exit(int fd, const ExitRecord& e) {
  return write_line(fd, {{"exit", exit_object(e)}});
}

std::optional<PidRecord> read_pid(const std::string& dir) {
  std::optional<PidRecord> out;
  each_record(dir, [&](const json::object& o) {
    if (!o.contains("pid")) return;
    PidRecord p;
    p.pid = static_cast<int>(get_int(o, "pid"));
    if (auto t = parse_iso8601(get_string(o, "started_at"))) p.started_at = *t;
    if (p.pid > 0) out = p;
  });
  return out;
}

std::optional<ExitRecord> read_exit(const std::string& dir) {
  std::optional<ExitRecord> out;
  each_record(dir, [&](const json::object& rec) {
    const auto* x = rec.if_contains("exit");
    if (!x || !x->is_object()) return;
    const auto& o = x->get_object();
    ExitRecord e;
    if (o.contains("exit_code")) e.exit_code = static_cast<int>(get_int(o, "exit_code"));
    if (o.contains("signal")) e.signal = static_cast<int>(get_int(o, "signal"));
    e.error = get_string(o, "error");
    out = e;
  });
  return out;
}

bool write_next(const std::string& dir, const std::string& child_key,
                const std::string& child_dir) {
  int fd = ::open((dir + "/claim").c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write_next(fd, child_key, child_dir);
  ::close(fd);
  return ok;
}

bool write_next(int claim_fd, const std::string& child_key, const std::string& child_dir) {
  return write_line(claim_fd, {{"next", child_key}, {"dir", child_dir}});
}

std::vector<std::pair<std::string, std::string>> read_next(const std::string& dir) {
  std::vector<std::pair<std::string, std::string>> out;
  each_record(dir, [&](const json::object& o) {
    if (o.contains("next")) out.emplace_back(get_string(o, "next"), get_string(o, "dir"));
  });
  return out;
}

void make_attempt_dir(const std::string& dir, std::error_code& ec) {
  // Two mkdirs (create_directories would stat each level first); the root itself only when it
  // went missing.
  for (const std::string& d : {dir, dir + "/work"})
    if (!ec && ::mkdir(d.c_str(), 0755) != 0 && errno != EEXIST) {
      if (errno == ENOENT)
        std::filesystem::create_directories(d, ec);
      else
        ec = std::error_code(errno, std::generic_category());
    }
}

bool write_attempt_file(const std::string& path, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  struct stat st;
  bool ok = ::fstat(fd, &st) == 0 && (st.st_size == 0 || ::ftruncate(fd, 0) == 0);
  for (size_t off = 0; ok && off < data.size();) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    ok = n > 0;
    if (ok) off += static_cast<size_t>(n);
  }
  return ::close(fd) == 0 && ok;
}

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

bool no_outputs(const std::string& dir) {
  struct stat st;
  std::string path = dir + "/outputs.json";
  if (::stat(path.c_str(), &st) != 0) return errno == ENOENT;
  if (st.st_size == 0) return true;
  if (st.st_size > 4096) return false;
  auto text = read_file(path, 4096);
  return text && text->find_first_not_of(" \t\r\n") == std::string::npos;
}

}  // namespace ctflow::exec
