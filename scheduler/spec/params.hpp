#pragma once
// Param values for one run: declared defaults plus what the submitter gave. Pure; thread-safe.
#include <boost/json.hpp>

#include <map>
#include <string>

#include "scheduler/common/result.hpp"
#include "scheduler/spec/spec.hpp"

namespace ctflow::spec {

// Returns {NAME: value} for every declared param: the given value, else the default.
// `given_as_text` holds `-p k=v` values, converted to the declared type (int: decimal integer;
// float: a number; bool: true/false/1/0/yes/no; string: as is). `given_as_json` holds typed
// values (REST); an int is accepted for a float param. Values are stored as in Param (int64,
// double, bool, string). The error lists every problem, separated by "; ", each naming the param:
// an unknown one (with a suggestion), one given both ways, a required one not given, or a value
// that does not fit its type ("params.epochs: expected int, got \"three\"").
Result<boost::json::object> resolve_params(const Pipeline& p,
                                           const std::map<std::string, std::string>& given_as_text,
                                           const boost::json::object& given_as_json);

}  // namespace ctflow::spec
