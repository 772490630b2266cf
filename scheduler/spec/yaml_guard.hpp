#pragma once
// A pre-check run before yaml-cpp sees a spec: the brackets of every flow collection ([...],
// {...}) must balance. Debian's yaml-cpp 0.7 allocates without bound on some unbalanced flow
// input (found by tests/fuzz/fuzz_spec; tests/fuzz/repro/), so such text never reaches it.
// Only flow context is checked: block scalars and plain scalars keep any bracket. Pure;
// thread-safe.
#include <optional>
#include <string>
#include <string_view>

namespace ctflow::spec {

// nullopt when balanced, else "line L, column C: malformed YAML: ..." (1-based).
std::optional<std::string> check_flow_brackets(std::string_view text);

}  // namespace ctflow::spec
