#include "scheduler/spec/params.hpp"

#include <fmt/format.h>

#include <charconv>
#include <set>

#include "scheduler/spec/reader.hpp"

namespace ctflow::spec {
namespace {

namespace json = boost::json;

std::optional<json::value> from_text(const std::string& s, ParamType t) {
  switch (t) {
    case ParamType::String:
      return json::value(json::string(s));
    case ParamType::Int: {
      int64_t v = 0;
      const char* b = s.data() + (!s.empty() && s[0] == '+' ? 1 : 0);
      auto [p, ec] = std::from_chars(b, s.data() + s.size(), v);
      if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
      return json::value(v);
    }
    case ParamType::Float: {
      double v = 0;
      const char* b = s.data() + (!s.empty() && s[0] == '+' ? 1 : 0);
      auto [p, ec] = std::from_chars(b, s.data() + s.size(), v);
      if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
      return json::value(v);
    }
    case ParamType::Bool:
      if (s == "true" || s == "1" || s == "yes") return json::value(true);
      if (s == "false" || s == "0" || s == "no") return json::value(false);
      return std::nullopt;
  }
  return std::nullopt;
}

std::optional<json::value> from_json(const json::value& v, ParamType t) {
  switch (t) {
    case ParamType::String:
      return v.is_string() ? std::optional<json::value>(v) : std::nullopt;
    case ParamType::Int:
      if (v.is_int64()) return v;
      if (v.is_uint64() && v.get_uint64() <= INT64_MAX)
        return json::value(static_cast<int64_t>(v.get_uint64()));
      return std::nullopt;
    case ParamType::Float:
      return v.is_number() ? std::optional<json::value>(v.to_number<double>()) : std::nullopt;
    case ParamType::Bool:
      return v.is_bool() ? std::optional<json::value>(v) : std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

Result<json::object> resolve_params(const Pipeline& p,
                                    const std::map<std::string, std::string>& given_as_text,
                                    const json::object& given_as_json) {
  std::vector<std::string> problems;
  std::vector<std::string> names;
  for (const auto& param : p.params) names.push_back(param.name);
  auto declared = [&](std::string_view n) {
    return std::find(names.begin(), names.end(), n) != names.end();
  };
  // Unknown names first, in a stable order (text, then JSON).
  std::set<std::string> given;
  for (const auto& [k, v] : given_as_text) given.insert(k);
  for (const auto& kv : given_as_json) {
    std::string k(kv.key());
    if (given_as_text.count(k))
      problems.push_back(fmt::format("params.{}: given twice (as text and as JSON)", k));
    given.insert(k);
  }
  for (const auto& k : given)
    if (!declared(k))
      problems.push_back(
          fmt::format("params.{}: unknown param{}", k, detail::did_you_mean(k, names)));

  json::object out;
  for (const auto& param : p.params) {
    const char* type = param_type_name(param.type);
    if (auto it = given_as_text.find(param.name); it != given_as_text.end()) {
      if (auto v = from_text(it->second, param.type))
        out[param.name] = std::move(*v);
      else
        problems.push_back(
            fmt::format("params.{}: expected {}, got \"{}\"", param.name, type, it->second));
    } else if (const json::value* j = given_as_json.if_contains(param.name)) {
      if (auto v = from_json(*j, param.type))
        out[param.name] = std::move(*v);
      else
        problems.push_back(
            fmt::format("params.{}: expected {}, got {}", param.name, type, detail::describe(*j)));
    } else if (param.default_value) {
      out[param.name] = *param.default_value;
    } else {
      problems.push_back(fmt::format("params.{}: required ({}, no default); pass -p {}=VALUE",
                                     param.name, type, param.name));
    }
  }
  if (problems.empty()) return out;
  std::string msg;
  for (const auto& pr : problems) msg += (msg.empty() ? "" : "; ") + pr;
  return Error{msg};
}

}  // namespace ctflow::spec
