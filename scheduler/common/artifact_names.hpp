#pragma once
// The file name a model version's artifact gets in a pulled directory (`ctflow models pull`,
// `ctflow-serve --model-dir`): "model" -> "model.pt", "index" -> "index.faiss", "index-labels"
// and "model-card" -> NAME.json, anything else NAME.bin. Shared by the CLI (which writes such
// directories) and tasks/model/ (which reads them); names are checked against [A-Za-z0-9_.-] by
// whoever takes them from the network.
#include <string>

namespace ctflow {

inline std::string pulled_file_name(const std::string& artifact) {
  if (artifact == "model") return "model.pt";
  if (artifact == "index") return "index.faiss";
  if (artifact == "index-labels" || artifact == "model-card") return artifact + ".json";
  return artifact + ".bin";
}

}  // namespace ctflow
