#include "tasks/core/context.hpp"

#include <filesystem>
#include <vector>

#include "scheduler/common/log.hpp"

namespace ctflow::tasks {

namespace fs = std::filesystem;

MetricsWriter::MetricsWriter(const std::string& path) {
  if (path.empty()) return;
  f_ = std::fopen(path.c_str(), "a");
  if (!f_) log::warn("metrics file {} cannot be opened; metrics are dropped", path);
}

MetricsWriter::~MetricsWriter() {
  if (f_) std::fclose(f_);
}

void MetricsWriter::write(const std::string& name, double value, int64_t step) {
  if (!f_) return;
  json::object o;
  o["name"] = name;
  // JSON has no NaN: a non-finite value is written as null so that the line stays parseable.
  if (std::isfinite(value))
    o["value"] = value;
  else
    o["value"] = nullptr;
  o["step"] = step;
  std::string line = json::serialize(o) + "\n";
  std::fwrite(line.data(), 1, line.size(), f_);
  std::fflush(f_);
}

static const json::object* tasks_of(const json::object& inputs) {
  const json::value* t = find(inputs, "tasks");
  return t && t->is_object() ? &t->get_object() : nullptr;
}

Result<ArtifactRef> TaskContext::artifact(const std::string& spec) const {
  std::string task, name = spec;
  if (auto slash = spec.find('/'); slash != std::string::npos) {
    task = spec.substr(0, slash);
    name = spec.substr(slash + 1);
  }
  if (auto it = overrides.find(name); it != overrides.end()) {
    std::error_code ec;
    fs::path p = fs::absolute(it->second, ec);
    return ArtifactRef{"", name, p.string(), "", ""};
  }
  const json::object* tasks = tasks_of(inputs);
  std::vector<ArtifactRef> found;
  if (tasks) {
    for (const auto& [tname, tval] : *tasks) {
      if (!task.empty() && tname != task) continue;
      if (!tval.is_object()) continue;
      const json::value* arts = find(tval.get_object(), "artifacts");
      if (!arts || !arts->is_object()) continue;
      const json::value* a = find(arts->get_object(), name);
      if (!a || !a->is_object()) continue;
      const auto& ao = a->get_object();
      found.push_back({std::string(tname), name, get_string(ao, "path"), get_string(ao, "digest"),
                       get_string(ao, "kind")});
    }
  }
  if (found.empty()) {
    return Error{"no upstream artifact '" + spec + "'" +
                 (tasks ? std::string(" in the inputs document")
                        : std::string(" (no inputs document; pass --input " + name + "=PATH)"))};
  }
  if (found.size() > 1) {
    std::string names;
    for (const auto& f : found) names += (names.empty() ? "" : ", ") + f.task + "/" + name;
    return Error{"artifact '" + spec + "' is ambiguous (" + names + "); name it as TASK/" + name};
  }
  if (found[0].path.empty()) return Error{"artifact '" + spec + "' has no path"};
  return found[0];
}

const json::value* TaskContext::upstream_output(const std::string& spec) const {
  std::string task, key = spec;
  if (auto slash = spec.find('/'); slash != std::string::npos) {
    task = spec.substr(0, slash);
    key = spec.substr(slash + 1);
  }
  const json::object* tasks = tasks_of(inputs);
  if (!tasks) return nullptr;
  for (const auto& [tname, tval] : *tasks) {
    if (!task.empty() && tname != task) continue;
    if (!tval.is_object()) continue;
    const json::value* outs = find(tval.get_object(), "outputs");
    if (!outs || !outs->is_object()) continue;
    if (const json::value* v = find(outs->get_object(), key)) return v;
  }
  return nullptr;
}

std::string TaskContext::out_path(const std::string& file) const {
  std::error_code ec;
  return (fs::absolute(workdir, ec) / file).lexically_normal().string();
}

void TaskOutputs::add_artifact(const std::string& name, const std::string& path,
                               const std::string& kind) {
  json::object a;
  a["path"] = path;
  a["kind"] = kind;
  artifacts[name] = std::move(a);
}

json::object TaskOutputs::to_json() const {
  json::object o;
  o["outputs"] = outputs;
  o["artifacts"] = artifacts;
  o["registry"] = registry;
  return o;
}

Result<json::object> load_inputs(const std::string& path) {
  bool too_big = false;
  auto text = read_file(path, 64u << 20, &too_big);
  if (!text) return Error{"inputs file " + path + (too_big ? " is too large" : " cannot be read")};
  boost::system::error_code ec;
  json::value v = json::parse(*text, ec);
  if (ec || !v.is_object()) return Error{"inputs file " + path + " is not a JSON object"};
  return v.get_object();
}

Result<bool> write_outputs(const std::string& path, const TaskOutputs& out) {
  if (!write_file_atomic(path, json::serialize(out.to_json()) + "\n"))
    return Error{"outputs file " + path + " cannot be written"};
  return true;
}

void record_upstream(json::object& inputs, const std::string& task, const TaskOutputs& out,
                     const std::string& workdir) {
  json::value& tv = inputs["tasks"];
  if (!tv.is_object()) tv = json::object();
  json::object t;
  t["outputs"] = out.outputs;
  json::object arts;
  for (const auto& [name, a] : out.artifacts) {
    json::object ao = a.as_object();
    fs::path p(get_string(ao, "path"));
    if (p.is_relative()) p = fs::path(workdir) / p;
    ao["path"] = p.lexically_normal().string();
    arts[name] = std::move(ao);
  }
  t["artifacts"] = std::move(arts);
  tv.get_object()[task] = std::move(t);
}

}  // namespace ctflow::tasks
