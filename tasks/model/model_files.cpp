#include "tasks/model/model_files.hpp"

#include <filesystem>

#include "tasks/data/dataset.hpp"

namespace ctflow::tasks {

namespace fs = std::filesystem;

const json::object* find_artifact(const json::object& artifacts, const std::string& name) {
  const json::value* a = find(artifacts, name);
  for (const auto& [key, value] : artifacts) {
    if (a) break;
    const std::string k(key);
    if (k.size() > name.size() && k.ends_with("/" + name)) a = &value;
  }
  return a && a->is_object() ? &a->get_object() : nullptr;
}

Result<ModelFiles> files_of_version(const json::object& version) {
  const json::value* arts = find(version, "artifacts");
  if (!arts || !arts->is_object()) return Error{"it has no artifacts"};
  std::string paths[3];
  for (int i = 0; i < 3; ++i) {
    const json::object* a = find_artifact(arts->get_object(), kModelArtifacts[i]);
    paths[i] = a ? get_string(*a, "path") : "";
    if (paths[i].empty())
      return Error{std::string("it has no '") + kModelArtifacts[i] + "' artifact"};
  }
  return ModelFiles{paths[0], paths[1], paths[2]};
}

Result<ModelFiles> files_in_dir(const std::string& dir) {
  std::string paths[3];
  for (int i = 0; i < 3; ++i) {
    paths[i] = (fs::path(dir) / pulled_file_name(kModelArtifacts[i])).string();
    std::error_code ec;
    if (!fs::is_regular_file(paths[i], ec))
      return Error{"model directory " + dir + " has no " + pulled_file_name(kModelArtifacts[i])};
  }
  return ModelFiles{paths[0], paths[1], paths[2]};
}

Result<IndexLabels> read_index_labels(const std::string& path) {
  auto doc = read_json_object(path);
  if (!doc) return Error{doc.error()};
  IndexLabels out;
  const json::value* l = find(*doc, "labels");
  if (!l || !l->is_array()) return Error{"index labels " + path + " have no \"labels\" array"};
  out.labels.reserve(l->get_array().size());
  for (const auto& v : l->get_array()) {
    if (!v.is_int64() || v.get_int64() < 0 || v.get_int64() > 9)
      return Error{"index labels " + path + ": label outside 0..9"};
    out.labels.push_back(static_cast<uint8_t>(v.get_int64()));
  }
  const int64_t k = get_int(*doc, "k", 5);
  if (k < 1 || k > 1000) return Error{"index labels " + path + ": k outside 1..1000"};
  out.k = static_cast<int>(k);
  const std::string metric = get_string(*doc, "metric", "inner_product");
  if (metric != "inner_product" && metric != "l2")
    return Error{"index labels " + path + ": unknown metric \"" + metric + "\""};
  out.inner_product = metric == "inner_product";
  const std::string kind = get_string(*doc, "index", "flat");
  if (kind != "flat" && kind != "hnsw")
    return Error{"index labels " + path + ": unknown index \"" + kind + "\" (flat or hnsw)"};
  out.hnsw = kind == "hnsw";
  const int64_t ef = get_int(*doc, "ef_search", 0);
  if (ef < 0 || ef > 4096) return Error{"index labels " + path + ": ef_search outside 1..4096"};
  out.ef_search = static_cast<int>(ef);
  return out;
}

}  // namespace ctflow::tasks
