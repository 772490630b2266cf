#pragma once
// Where a model version's files are, and the small JSON one of them holds: the one place that
// knows how a version's artifacts are named, shared by the promotion gate (validate-model), the
// evaluation, `ctflow models pull` and the predictor (ctflow-serve). No torch, no faiss.
//
// A version has three files the predictor needs: "model" (TorchScript embedder), "index" (faiss
// index over the reference embeddings) and "index-labels" (JSON {"k", "metric", "labels"}). They
// are found
//   - in an engine inputs document's deployed version ({"artifacts": {NAME | TASK/NAME: {"path",
//     "digest", ...}}}): files_of_version();
//   - in a pulled directory (model.pt, index.faiss, index-labels.json;
//   scheduler/common/artifact_names.hpp):
//     files_in_dir().
// Errors name what is missing and where.
#include <cstdint>
#include <string>
#include <vector>

#include "scheduler/common/artifact_names.hpp"
#include "scheduler/common/json_util.hpp"
#include "scheduler/common/result.hpp"

namespace ctflow::tasks {

struct ModelFiles {
  std::string model;         // TorchScript
  std::string index;         // faiss
  std::string index_labels;  // JSON
};

// The artifacts a predictor needs, in the order they are loaded.
inline const char* const kModelArtifacts[] = {"model", "index", "index-labels"};

// An artifact entry of a version's "artifacts" object by its name; the engine may key it as
// "NAME" or "TASK/NAME". nullptr when absent.
const json::object* find_artifact(const json::object& artifacts, const std::string& name);

// The three files of a version object ({"artifacts": {...: {"path"}}}). Errors: "it has no
// 'index' artifact".
Result<ModelFiles> files_of_version(const json::object& version);

// The three files in a pulled directory; an error names the first missing file.
Result<ModelFiles> files_in_dir(const std::string& dir);

// index-labels.json: the label (0..9) of each indexed row, the k the evaluation used, and what
// kind of index index.faiss is ("index": "flat" (default) | "hnsw", with "hnsw_m" and
// "ef_search", the search-time candidates the loader sets).
struct IndexLabels {
  std::vector<uint8_t> labels;
  int k = 5;
  bool inner_product = true;
  bool hnsw = false;
  int ef_search = 0;  // hnsw: 1..4096; 0: as stored in the index file
};
Result<IndexLabels> read_index_labels(const std::string& path);

}  // namespace ctflow::tasks
