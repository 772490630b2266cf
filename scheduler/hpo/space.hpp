#pragma once
// Search spaces for hyperparameter studies. Shared by the spec validator (hpo: blocks) and by
// `ctflow hpo ask` (its "space" field): one parser, one set of error messages.
//
// Every dimension maps to one coordinate of the unit cube [0,1]^d (the space Sobol points and the
// Gaussian process live in):
//   float min/max          linear in x (or in log x with `log: true`), continuous;
//   float/int with `step`  the lattice min, min+step, ... <= max; without log every lattice point
//                          owns an equal slice of [0,1]; with log the coordinate is log-linear and
//                          decoding snaps to the nearest lattice point (int ranges have step 1);
//   `values` (int/float)   ordinal: values sorted ascending, each owns an equal slice;
//   categorical            each choice (any JSON value, order as given) owns an equal slice.
// Decoding a coordinate always yields a valid value (inside bounds, on the lattice), and
// encode(decode(u)) is the centre of u's slice for discrete dims, so round trips are stable.
// All functions here are pure and thread-safe.
#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ctflow::hpo {

// A key taken from the input as it appears in an error path ("space.lr", "trials[0].params.x"):
// itself when it holds no control character, else as a quoted JSON string ("\"a\\nb\""), so
// that every error stays one line whatever the input's keys hold.
std::string shown_key(std::string_view key);

enum class DimType { Float, Int, Categorical };

// Most dimensions a space may have (the Sobol direction-number table carries this many).
inline constexpr size_t kMaxDims = 128;

struct Dimension {
  std::string name;
  DimType type = DimType::Float;
  double min = 0, max = 0;                 // Float/Int bounds (inclusive) when `values` is empty
  bool log = false;                        // Float/Int: search log(min)..log(max); needs min > 0
  std::optional<double> step;              // Float/Int: lattice step (Int ranges default to 1)
  std::vector<boost::json::value> values;  // Categorical choices, or explicit Int/Float values
                                           // (numbers, sorted ascending, no duplicates)
};

struct SearchSpace {
  std::vector<Dimension> dims;  // sorted by name: a stable order for grids and Sobol dimensions
};

// Parses {NAME: {"type": "float"|"int"|"categorical", "min", "max", "log", "step", "values"}}.
// Every problem is appended to `errors` as "PATH.NAME.FIELD: reason" (PATH given by the caller,
// e.g. "tasks[4].hpo.space" or "space"); returns nullopt if there was any.
std::optional<SearchSpace> parse_space(const boost::json::value& v, const std::string& path,
                                       std::vector<std::string>& errors);

// Number of distinct values of a discrete dimension (values, categorical, int, float with step);
// nullopt for a continuous float. Lattices are counted without enumerating them.
std::optional<uint64_t> cardinality(const Dimension& d);

// The i-th value (0 <= i < cardinality) in ascending / declared order.
boost::json::value discrete_value(const Dimension& d, uint64_t i);

// Index (as in discrete_value) of a value of a discrete dimension; nullopt if the value is not
// one of its values / not on its lattice (within 1e-9 relative), or the dimension is continuous.
std::optional<uint64_t> index_of(const Dimension& d, const boost::json::value& v);

// Unit coordinate -> parameter value (u is clamped to [0,1]).
boost::json::value decode(const Dimension& d, double u);

// Parameter value -> unit coordinate. nullopt with `why` set when the value has the wrong type,
// lies outside the bounds or is not one of `values`.
std::optional<double> encode(const Dimension& d, const boost::json::value& v, std::string& why);

// Snaps u to the coordinate of the value it decodes to (identity for continuous dims).
double snap(const Dimension& d, double u);

// A point of the whole space: one unit coordinate per dimension, in `dims` order.
using UnitPoint = std::vector<double>;

boost::json::object decode_point(const SearchSpace& s, const UnitPoint& u);

// Encodes a trial's params object. Every dimension must be present and valid; unknown keys are
// errors. Errors are "PATH.NAME: reason" (PATH e.g. "trials[3].params").
std::optional<UnitPoint> encode_point(const SearchSpace& s, const boost::json::value& params,
                                      const std::string& path, std::string& error);

}  // namespace ctflow::hpo
