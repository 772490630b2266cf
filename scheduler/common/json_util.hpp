#pragma once
// JSON helpers shared by every module (Boost.JSON).
#include <boost/json.hpp>

#include <optional>
#include <string>

namespace ctflow {

namespace json = boost::json;

// Serialises with object keys sorted recursively and no whitespace: equal values give equal
// strings, so the result can be hashed (content addressing of pipeline versions, cache keys).
std::string canonical_json(const json::value& v);

// Reads a whole file; nullopt if it cannot be opened. `max_bytes` guards against huge files:
// a larger file sets *too_big (when given) and returns nullopt.
std::optional<std::string> read_file(const std::string& path, size_t max_bytes = SIZE_MAX,
                                     bool* too_big = nullptr);

// Writes `data` to `path` atomically (temp file in the same folder + rename). With `sync`, the
// data is fsync'ed before the rename. Returns false on any error (errno is kept).
bool write_file_atomic(const std::string& path, const std::string& data, bool sync = false);
// Creates or truncates `path` and writes `data` (for files nobody reads while they are written).
bool write_file(const std::string& path, const std::string& data);

// Convenience lookups that never throw.
const json::value* find(const json::object& o, std::string_view key);
std::string get_string(const json::object& o, std::string_view key, std::string def = "");
int64_t get_int(const json::object& o, std::string_view key, int64_t def = 0);

}  // namespace ctflow
