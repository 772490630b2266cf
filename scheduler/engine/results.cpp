#include "scheduler/engine/results.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "scheduler/common/json_util.hpp"
#include "scheduler/common/sha256.hpp"

namespace ctflow::engine {

namespace fs = std::filesystem;

Result<store::ArtifactOut> store_artifact(const std::string& file, const std::string& store_root) {
  std::error_code ec;
  auto st = fs::status(file, ec);
  if (ec || !fs::is_regular_file(st)) return Error{file + ": not a regular file"};
  auto digest = sha256_file(file);
  if (!digest) return Error{file + ": cannot be read"};
  store::ArtifactOut a;
  a.digest = *digest;
  a.size = static_cast<int64_t>(fs::file_size(file, ec));
  std::string dir = store_root + "/sha256/" + digest->substr(0, 2);
  a.path = dir + "/" + *digest;
  // Content-addressed: already there. Touched, so that a gc about to delete it (no row
  // references it any more) sees it stored again and keeps it (api/gc.hpp); when gc moved it
  // aside already, the touch fails and the file is stored anew.
  if (::utimensat(AT_FDCWD, a.path.c_str(), nullptr, 0) == 0) return a;
  fs::create_directories(dir, ec);
  std::string tmp = a.path + ".tmp." + std::to_string(::getpid());
  // A hard link avoids a copy when the attempt folder is on the same file system.
  if (::link(file.c_str(), tmp.c_str()) != 0) {
    fs::copy_file(file, tmp, fs::copy_options::overwrite_existing, ec);
    if (ec) return Error{file + ": cannot store artifact: " + ec.message()};
  }
  ::chmod(tmp.c_str(), 0444);
  fs::rename(tmp, a.path, ec);
  if (ec) return Error{file + ": cannot store artifact: " + ec.message()};
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
      if (path[0] != '/') path = work_dir + "/" + path;
      auto stored = store_artifact(path, store_root);
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
