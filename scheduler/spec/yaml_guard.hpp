#pragma once
// A pre-check run before the YAML parser sees a spec: the brackets of every flow collection
// ([...], {...}) must balance, reported as "'[' is never closed" at the opening bracket (clearer
// than the parser's error at the end of the text; it also kept such input away from yaml-cpp
// 0.7, which allocated without bound on it: tests/fuzz/corpus/spec/regress_yaml_cpp_*).
// Only flow context is checked: block scalars and plain scalars keep any bracket. Pure;
// thread-safe.
#include <optional>
#include <string>
#include <string_view>

namespace ctflow::spec {

// nullopt when balanced, else "line L, column C: malformed YAML: ..." (1-based).
std::optional<std::string> check_flow_brackets(std::string_view text);

}  // namespace ctflow::spec
