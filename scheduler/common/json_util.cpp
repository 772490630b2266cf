#include "scheduler/common/json_util.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

namespace ctflow {

static void canon(const json::value& v, std::string& out) {
  switch (v.kind()) {
    case json::kind::object: {
      const auto& o = v.get_object();
      std::vector<const json::key_value_pair*> kv;
      kv.reserve(o.size());
      for (const auto& p : o) kv.push_back(&p);
      std::sort(kv.begin(), kv.end(), [](auto* a, auto* b) { return a->key() < b->key(); });
      out.push_back('{');
      for (size_t i = 0; i < kv.size(); ++i) {
        if (i) out.push_back(',');
        out += json::serialize(json::string(kv[i]->key()));
        out.push_back(':');
        canon(kv[i]->value(), out);
      }
      out.push_back('}');
      break;
    }
    case json::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        canon(e, out);
      }
      out.push_back(']');
      break;
    }
    default:
      out += json::serialize(v);
  }
}

std::string canonical_json(const json::value& v) {
  std::string out;
  canon(v, out);
  return out;
}

std::optional<std::string> read_file(const std::string& path, size_t max_bytes, bool* too_big) {
  if (too_big) *too_big = false;
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string data;
  char buf[1 << 16];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    data.append(buf, static_cast<size_t>(in.gcount()));
    if (data.size() > max_bytes) {
      if (too_big) *too_big = true;
      return std::nullopt;
    }
  }
  return data;
}

namespace {

// Writes `data` to a new or truncated `path` (mode 0644); optionally fsyncs before closing.
bool write_all(const std::string& path, const std::string& data, bool sync) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  bool ok = off == data.size() && (!sync || ::fsync(fd) == 0);
  return ::close(fd) == 0 && ok;
}

}  // namespace

bool write_file(const std::string& path, const std::string& data) {
  return write_all(path, data, false);
}

bool write_file_atomic(const std::string& path, const std::string& data, bool sync) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  if (!write_all(tmp, data, sync) || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

const json::value* find(const json::object& o, std::string_view key) {
  return o.if_contains(key);
}

std::string get_string(const json::object& o, std::string_view key, std::string def) {
  if (auto* v = o.if_contains(key); v && v->is_string()) return std::string(v->get_string());
  return def;
}

int64_t get_int(const json::object& o, std::string_view key, int64_t def) {
  if (auto* v = o.if_contains(key)) {
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
    if (v->is_double()) return static_cast<int64_t>(v->get_double());
  }
  return def;
}

}  // namespace ctflow
