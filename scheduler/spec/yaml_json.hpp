#pragma once
// YAML (and JSON, which is YAML) text -> boost::json::value. Internal to the spec module.
// Scalars follow the YAML 1.2 core schema: quoted scalars are strings; plain scalars are null
// (~, null, empty), booleans (true/false in three casings), integers (decimal, 0o, 0x), floats,
// and strings otherwise. Aliases are expanded (at most `max_nodes` nodes in all: kMaxYamlNodes
// for input; and at most kMaxAliasNodes of them copies made by aliases).
#include <boost/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "scheduler/spec/spec.hpp"

namespace ctflow::spec::detail {

// Path ("tasks[0].run[3]") -> the text of a plain scalar that resolved to a number, as written
// ("1.0e-4", "007"), so that argv and env values keep the user's spelling.
using NumberTexts = std::unordered_map<std::string, std::string>;

// Returns the single document as JSON, or nullopt after appending errors such as
// "line 3, column 7: malformed YAML: end of sequence flow not found" or
// "tasks[0].needs: duplicate key \"needs\"". Fills `numbers` (when given).
std::optional<boost::json::value> yaml_to_json(std::string_view text,
                                               std::vector<std::string>& errors,
                                               NumberTexts* numbers = nullptr,
                                               size_t max_nodes = kMaxYamlNodes);

}  // namespace ctflow::spec::detail
