#pragma once
// Search spaces for hyperparameter studies. Shared by the spec validator (hpo: blocks) and by
// `ctflow hpo ask` (its "space" field): one parser, one set of error messages.
#include <boost/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace ctflow::hpo {

enum class DimType { Float, Int, Categorical };

struct Dimension {
  std::string name;
  DimType type = DimType::Float;
  double min = 0, max = 0;            // Float/Int bounds (inclusive) when `values` is empty
  bool log = false;                   // Float/Int: search log(min)..log(max); needs min > 0
  std::optional<double> step;         // Float/Int: grid step
  std::vector<boost::json::value> values;  // Categorical choices, or explicit Int/Float values
};

struct SearchSpace {
  std::vector<Dimension> dims;  // sorted by name: a stable order for grids and Sobol dimensions
};

// Parses {NAME: {"type": "float"|"int"|"categorical", "min", "max", "log", "step", "values"}}.
// Every problem is appended to `errors` as "PATH.NAME.FIELD: reason" (PATH given by the caller,
// e.g. "tasks[4].hpo.space" or "space"); returns nullopt if there was any.
std::optional<SearchSpace> parse_space(const boost::json::value& v, const std::string& path,
                                       std::vector<std::string>& errors);

}  // namespace ctflow::hpo
