// libFuzzer harness for the pipeline spec parser: arbitrary bytes -> spec::parse_pipeline. Checks
// the promises of parse.hpp on every input: a pipeline xor errors, each error one non-empty line,
// at most kMaxErrors + 1 lines; and of canonical.hpp for every accepted spec: the canonical JSON
// parses back to an equal pipeline with the same digest.
#include "scheduler/spec/canonical.hpp"
#include "scheduler/spec/parse.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace ctflow::spec;

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ParseResult r = parse_pipeline(text);
  require(r.pipeline.has_value() == r.errors.empty());
  for (const auto& e : r.errors) require(!e.empty() && e.find('\n') == std::string::npos);
  if (!r.pipeline) return 0;
  std::string canonical = boost::json::serialize(to_json(*r.pipeline));
  ParseResult again = parse_pipeline(canonical);
  require(again.pipeline.has_value());
  require(*again.pipeline == *r.pipeline);
  require(digest(*again.pipeline) == digest(*r.pipeline));
  return 0;
}
