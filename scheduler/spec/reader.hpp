#pragma once
// Typed, path-aware reading of JSON values for the spec validator. Internal to the spec module.
// Every problem is appended to an error list as "PATH: reason" and reading goes on, so that one
// pass reports every problem at once. Not thread-safe (holds a reference to the error list).
#include <boost/json.hpp>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scheduler/common/time_util.hpp"

namespace ctflow::spec::detail {

using Errors = std::vector<std::string>;

std::string field_path(const std::string& base, std::string_view key);  // "base.key" or "key"
std::string index_path(const std::string& base, size_t i);              // "base[i]"
std::string label(const std::string& path);  // the path, or "spec" for the root

// "a string (\"x\")", "an integer (3)", "a list", ... for "expected X, got Y" messages.
std::string describe(const boost::json::value& v);

// The candidate closest to `word` by edit distance when it is close enough to be a likely typo,
// else "". With `known`, formats " (did you mean \"X\"?)" or "".
std::string nearest(std::string_view word, const std::vector<std::string>& candidates);
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

// Names of pipelines, tasks, params, pools and secrets: [A-Za-z0-9_.-]{1,128}. nullopt if valid.
std::optional<std::string> check_name(std::string_view name);

// Scalars rendered as argv/env text: strings as is, numbers in shortest round-trip form, bools as
// true/false. nullopt for null, lists and mappings.
std::optional<std::string> scalar_text(const boost::json::value& v);

// Reads the fields of one mapping. The constructor reports a non-mapping value and every key not
// in `known` (with a suggestion). Getters report missing required fields and wrong types and
// return nullopt in both cases (and when the field is absent).
class ObjectReader {
 public:
  ObjectReader(const boost::json::value& v, std::string path, Errors& errors,
               std::initializer_list<std::string_view> known);

  bool is_object() const { return obj_ != nullptr; }
  const boost::json::object* object() const { return obj_; }
  const std::string& path() const { return path_; }
  std::string path(std::string_view key) const { return field_path(path_, key); }
  void fail(std::string_view key, const std::string& reason);  // "path.key: reason"

  const boost::json::value* get(std::string_view key, bool required = false);
  std::optional<std::string> str(std::string_view key, bool required = false);
  std::optional<std::string> name(std::string_view key, bool required = false);
  std::optional<std::string> one_of(std::string_view key,
                                    std::initializer_list<std::string_view> choices);
  std::optional<int> integer(std::string_view key, int64_t min, int64_t max = INT32_MAX);
  std::optional<double> number(std::string_view key, double min);
  std::optional<bool> boolean(std::string_view key);
  std::optional<Millis> duration(std::string_view key, bool allow_zero);
  std::optional<TimePoint> instant(std::string_view key);

 private:
  const boost::json::object* obj_ = nullptr;
  std::string path_;
  Errors& errors_;
};

}  // namespace ctflow::spec::detail
