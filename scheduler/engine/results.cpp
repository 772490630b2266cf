#include "scheduler/engine/results.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <utility>

#include "scheduler/common/crash_point.hpp"
#include "scheduler/common/json_util.hpp"
#include "scheduler/common/sha256.hpp"

namespace ctflow::engine {

namespace fs = std::filesystem;

namespace {

// Closes a file descriptor at scope exit.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(Fd&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
  Fd(const Fd&) = delete;
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd, o.fd);
    return *this;
  }
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::string errno_text(int e) {
  return std::error_code(e, std::generic_category()).message();
}

// `path` made relative to `root` (it may be relative already, or absolute under `root` as given
// or as resolved); nullopt when it leaves `root`.
std::optional<fs::path> inside(const std::string& root, const std::string& path) {
  fs::path p = fs::path(path).lexically_normal();
  if (p.is_absolute()) {
    std::error_code ec;
    fs::path rel = p.lexically_relative(fs::path(root).lexically_normal());
    if (rel.empty() || *rel.begin() == "..") {
      fs::path real = fs::canonical(root, ec);
      rel = ec ? fs::path() : p.lexically_relative(real);
    }
    p = rel;
  }
  if (p.empty() || p == "." || *p.begin() == "..") return std::nullopt;
  return p;
}

// Opens a file of the task's folder for reading, following no symbolic link at any level (a
// task, or a pod on the shared volume, must not make the server read a file outside its folder,
// such as the admin token, and publish it as an artifact).
Result<Fd> open_confined(const std::string& root, const std::string& path) {
  auto rel = inside(root, path);
  if (root.empty() || !rel) return Error{path + ": outside the task's working directory"};
  Fd dir(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.fd < 0) return Error{root + ": " + errno_text(errno)};
  std::vector<fs::path> parts(rel->begin(), rel->end());
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    Fd next(::openat(dir.fd, parts[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (next.fd < 0)
      return Error{path + ": " +
                   (errno == ELOOP || errno == ENOTDIR
                        ? parts[i].string() + " is a symbolic link or not a folder"
                        : errno_text(errno))};
    dir = std::move(next);
  }
  Fd f(::openat(dir.fd, parts.back().c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (f.fd < 0)
    return Error{path + ": " +
                 (errno == ELOOP ? "a symbolic link, not a file" : errno_text(errno))};
  struct stat st {};
  if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode)) return Error{path + ": not a regular file"};
  return f;
}

// Writes the open file's bytes to `to` (a new file).
bool copy_fd(int from, const std::string& to, int& err) {
  Fd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0444));
  if (out.fd < 0 || ::lseek(from, 0, SEEK_SET) != 0) return err = errno, false;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(from, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) return err = errno, false;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::write(out.fd, buf + off, static_cast<size_t>(n - off));
      if (w < 0) return err = errno, false;
      off += w;
    }
  }
  if (::fsync(out.fd) != 0) return err = errno, false;
  return true;
}

std::atomic<uint64_t> tmp_counter{0};

}  // namespace

Result<store::ArtifactOut> store_artifact(const std::string& work_dir, const std::string& file,
                                          const std::string& store_root) {
  auto f = open_confined(work_dir, file);
  if (!f) return Error{f.error()};
  Sha256 h;
  char buf[1 << 16];
  int64_t size = 0;
  for (;;) {
    ssize_t n = ::read(f->fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) return Error{file + ": cannot be read: " + errno_text(errno)};
    h.update(std::string_view(buf, static_cast<size_t>(n)));
    size += n;
  }
  store::ArtifactOut a;
  a.digest = h.hex();
  a.size = size;
  std::string dir = store_root + "/sha256/" + a.digest.substr(0, 2);
  a.path = dir + "/" + a.digest;
  std::error_code ec;
  // Content-addressed: already there. Touched, so that a gc about to delete it (no row
  // references it any more) sees it stored again and keeps it (api/gc.hpp); when gc moved it
  // aside already, the touch fails and the file is stored anew.
  if (::utimensat(AT_FDCWD, a.path.c_str(), nullptr, 0) == 0) return a;
  fs::create_directories(dir, ec);
  std::string tmp = a.path + ".tmp." + std::to_string(::getpid()) + "." +
                    std::to_string(tmp_counter.fetch_add(1));
  // A hard link of the opened file (not of its name, which the task may have swapped since)
  // avoids a copy when the attempt folder is on the store's file system.
  std::string self = "/proc/self/fd/" + std::to_string(f->fd);
  if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, tmp.c_str(), AT_SYMLINK_FOLLOW) != 0) {
    int err = 0;
    if (!copy_fd(f->fd, tmp, err)) {
      fs::remove(tmp, ec);
      return Error{file + ": cannot store artifact: " + errno_text(err)};
    }
  }
  ::chmod(tmp.c_str(), 0444);
  fs::rename(tmp, a.path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return Error{file + ": cannot store artifact: " + ec.message()};
  }
  crash::point("artifact:stored");  // in the store, no row names it yet
  return a;
}

Result<TaskResult> read_task_result(const std::string& outputs_path, const std::string& work_dir,
                                    const std::string& store_root) {
  TaskResult r;
  bool too_big = false;
  auto text = read_file(outputs_path, kMaxOutputsBytes, &too_big);
  if (too_big) return Error{"outputs file: over the limit of 16 MiB"};
  if (!text || text->find_first_not_of(" \t\r\n") == std::string::npos) return r;
  json::error_code ec;
  auto v = json::parse(*text, ec);
  if (ec) return Error{"outputs file: invalid JSON: " + ec.message()};
  if (!v.is_object()) return Error{"outputs file: expected a JSON object"};
  const auto& o = v.get_object();
  for (const auto& kv : o) {
    if (kv.key() != "outputs" && kv.key() != "artifacts" && kv.key() != "registry")
      return Error{"outputs file: unknown field \"" + std::string(kv.key()) +
                   "\" (expected outputs, artifacts, registry)"};
  }
  if (auto* out = o.if_contains("outputs")) {
    if (!out->is_object()) return Error{"outputs file: outputs: expected an object"};
    r.outputs = out->get_object();
  }
  if (auto* arts = o.if_contains("artifacts")) {
    if (!arts->is_object()) return Error{"outputs file: artifacts: expected an object"};
    for (const auto& kv : arts->get_object()) {
      std::string name(kv.key());
      std::string field = "outputs file: artifacts." + name;
      if (!kv.value().is_object()) return Error{field + ": expected {path, kind}"};
      std::string path = get_string(kv.value().get_object(), "path");
      if (path.empty()) return Error{field + ".path: required"};
      auto stored = store_artifact(work_dir, path, store_root);
      if (!stored) return Error{field + ": " + stored.error()};
      stored->name = name;
      stored->kind = get_string(kv.value().get_object(), "kind");
      r.artifacts.push_back(std::move(*stored));
    }
  }
  if (auto* reg = o.if_contains("registry")) {
    if (!reg->is_array()) return Error{"outputs file: registry: expected a list"};
    r.registry = reg->get_array();
  }
  return r;
}

std::vector<store::MetricPoint> read_metrics(const std::string& path, int64_t& offset,
                                             int* skipped) {
  std::vector<store::MetricPoint> out;
  std::ifstream in(path, std::ios::binary);
  if (!in) return out;
  in.seekg(offset);
  std::string line;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // no newline yet: a partial line, read it next time
    offset += static_cast<int64_t>(line.size()) + 1;
    json::error_code ec;
    auto v = json::parse(line, ec);
    const json::object* o = (!ec && v.is_object()) ? &v.get_object() : nullptr;
    const json::value* val = o ? o->if_contains("value") : nullptr;
    std::string name = o ? get_string(*o, "name") : "";
    if (!o || name.empty() || !val || !val->is_number() || name.size() > 200) {
      if (skipped) ++*skipped;
      continue;
    }
    store::MetricPoint p;
    p.name = name;
    p.value = val->to_number<double>();
    if (!std::isfinite(p.value)) {
      if (skipped) ++*skipped;
      continue;
    }
    if (auto* s = o->if_contains("step"); s && s->is_number())
      p.step = static_cast<int64_t>(s->to_number<double>());
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace ctflow::engine
