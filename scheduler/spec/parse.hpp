#pragma once
// Parsing and validation of pipeline specs. Pure functions (no I/O); thread-safe.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scheduler/spec/spec.hpp"

namespace ctflow::spec {

// `pipeline` is set iff `errors` is empty. Each error is one line "PATH: reason", e.g.
//   tasks[3].needs[0]: unknown task "splt" (did you mean "split"?)
//   tasks: dependency cycle a -> b -> c -> a (each task needs the one before it)
//   line 4, column 9: malformed YAML: end of sequence flow not found
//   spec: 9000000 bytes, over the limit of 8388608 bytes (8 MiB)
// PATH uses the document's keys and list indexes; "spec" stands for the whole document. The CLI
// prefixes the file name. Every problem is reported at once, in document order (graph and
// template checks after field checks); identical lines are reported once. At most kMaxErrors
// lines are kept, then one line "spec: N more errors not shown" (N counts what was found before
// checking stopped).
struct ParseResult {
  std::optional<Pipeline> pipeline;
  std::vector<std::string> errors;
};

// YAML or JSON text (JSON is YAML). Rules: see DESIGN.md "Pipeline spec" and spec.hpp.
ParseResult parse_pipeline(std::string_view text);

// The same for a spec this program stored (pipeline_versions.spec: the canonical JSON of a spec
// that parse_pipeline accepted), without the input limits on bytes and YAML nodes: the canonical
// form spells out every default (retry, env, cache, ...) and is 3-4 times the size of compact
// input, so a spec near the limits would otherwise be accepted at submission and fail to run.
// Every other check applies.
ParseResult parse_stored_pipeline(std::string_view text);

}  // namespace ctflow::spec
