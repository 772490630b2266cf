// libFuzzer harness for `ctflow hpo ask`: bytes on stdin -> hpo::hpo_ask_main. Checks ask.hpp's
// promises on every input: exit 0 with one JSON object {"suggestions": [...]} (and maybe
// "exhausted") on stdout and nothing on stderr, or exit 2 with one line on stderr and nothing on
// stdout. Inputs are capped (count and trials) so that one run stays in the fuzzer's time budget.
#include "scheduler/hpo/ask.hpp"

#include <boost/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;  // a big study is the benchmark's job, not the fuzzer's
  std::string text(reinterpret_cast<const char*>(data), size);
  std::istringstream in(text);
  std::ostringstream out, err;
  int rc = ctflow::hpo::hpo_ask_main(in, out, err);
  if (rc == 2) {
    require(out.str().empty());
    std::string e = err.str();
    while (!e.empty() && e.back() == '\n') e.pop_back();
    require(!e.empty() && e.find('\n') == std::string::npos);
    return 0;
  }
  require(rc == 0);
  require(err.str().empty());
  boost::json::error_code ec;
  auto v = boost::json::parse(out.str(), ec);
  require(!ec && v.is_object());
  const auto* s = v.as_object().if_contains("suggestions");
  require(s && s->is_array());
  for (const auto& one : s->as_array())
    require(one.is_object() && one.as_object().contains("params"));
  return 0;
}
