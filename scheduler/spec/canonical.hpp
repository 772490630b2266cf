#pragma once
// The canonical form of a pipeline: the JSON stored as an immutable pipeline version, and its
// content address. Pure functions; thread-safe.
#include <boost/json.hpp>

#include <string>

#include "scheduler/spec/spec.hpp"

namespace ctflow::spec {

// Every field of `p`, in the spec's own YAML/JSON shape with `defaults:` already applied to each
// task (so there is no defaults block), durations as text ("90s"), instants as ISO-8601.
// parse_pipeline(serialize(to_json(p))) gives back a Pipeline equal to `p`.
boost::json::value to_json(const Pipeline& p);

// sha256 hex of canonical_json(to_json(p)): specs that differ only in formatting, key order,
// comments, YAML vs JSON, or in fields spelled out with their default values have equal digests.
std::string digest(const Pipeline& p);

}  // namespace ctflow::spec
