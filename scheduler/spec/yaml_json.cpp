#include "scheduler/spec/yaml_json.hpp"
#include "scheduler/spec/yaml_guard.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <charconv>

#include "scheduler/spec/reader.hpp"
#include "scheduler/spec/spec.hpp"

namespace ctflow::spec::detail {
namespace {

namespace json = boost::json;

constexpr int kMaxDepth = 200;

bool is_null_word(const std::string& s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

size_t digits(std::string_view s, size_t i) {
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  return i;
}

// [-+]?[0-9]+ (hand-written: std::regex recurses per character and a long scalar would
// overflow the stack).
bool is_int(std::string_view s) {
  size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  return i < s.size() && digits(s, i) == s.size();
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool is_float(std::string_view s) {
  size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  size_t int_end = digits(s, i);
  bool int_part = int_end > i;
  i = int_end;
  if (i < s.size() && s[i] == '.') {
    size_t frac_end = digits(s, i + 1);
    if (!int_part && frac_end == i + 1) return false;
    i = frac_end;
  } else if (!int_part) {
    return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    size_t exp_end = digits(s, i);
    if (exp_end == i) return false;
    i = exp_end;
  }
  return i == s.size();
}

std::optional<double> to_double(std::string_view s) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  double d = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;  // e.g. 1e999
  return d;
}

// Plain scalar resolution per the YAML 1.2 core schema. Numbers out of range stay strings.
json::value resolve_plain(const std::string& s) {
  if (is_null_word(s)) return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (is_int(s)) {
    const char* b = s.data() + (s[0] == '+' ? 1 : 0);
    int64_t v = 0;
    auto [p, ec] = std::from_chars(b, s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size()) return v;
    if (auto d = to_double(s)) return *d;  // out of int64 range: keep the magnitude
    return json::string(s);
  }
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
    int base = s[1] == 'x' ? 16 : 8;
    int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data() + 2, s.data() + s.size(), v, base);
    if (ec == std::errc() && p == s.data() + s.size()) return v;
  }
  if (is_float(s))
    if (auto d = to_double(s)) return *d;
  return json::string(s);
}

class Converter {
 public:
  Converter(std::vector<std::string>& errors, NumberTexts* numbers)
      : errors_(errors), numbers_(numbers) {}

  std::optional<json::value> convert(const YAML::Node& n, const std::string& path, int depth) {
    if (++nodes_ > kMaxYamlNodes) {
      if (!too_many_)
        errors_.push_back(
            fmt::format("spec: more than {} YAML nodes after expanding aliases", kMaxYamlNodes));
      too_many_ = true;
      return std::nullopt;
    }
    if (depth > kMaxDepth) {
      // The full path would be hundreds of characters: name the top-level field only.
      std::string top = path.substr(0, path.find_first_of(".["));
      errors_.push_back(fmt::format("{}: nested deeper than {} levels", label(top), kMaxDepth));
      return std::nullopt;
    }
    switch (n.Type()) {
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
        return json::value(nullptr);
      case YAML::NodeType::Scalar:
        return scalar(n, path);
      case YAML::NodeType::Sequence: {
        json::array a;
        size_t i = 0;
        for (const auto& e : n) {
          auto v = convert(e, index_path(path, i++), depth + 1);
          if (!v) return std::nullopt;
          a.push_back(std::move(*v));
        }
        return json::value(std::move(a));
      }
      case YAML::NodeType::Map: {
        json::object o;
        bool ok = true;
        std::vector<YAML::Node> merges;
        for (const auto& kv : n) {
          if (!kv.first.IsScalar()) {
            errors_.push_back(fmt::format("{}: mapping keys must be plain strings", label(path)));
            ok = false;
            continue;
          }
          const std::string& key = kv.first.Scalar();
          std::string child = field_path(path, key);
          if (key == "<<" && kv.first.Tag() == "?") {  // YAML merge key: handled below
            merges.push_back(kv.second);
            continue;
          }
          if (o.contains(key)) {
            errors_.push_back(fmt::format("{}: duplicate key \"{}\"", child, key));
            ok = false;
            continue;
          }
          auto v = convert(kv.second, child, depth + 1);
          if (!v) {
            ok = false;
            if (too_many_) return std::nullopt;
            continue;
          }
          o.emplace(key, std::move(*v));
        }
        if (ok) ok = merge(merges, o, path, depth);
        if (!ok) return std::nullopt;
        return json::value(std::move(o));
      }
    }
    return std::nullopt;
  }

 private:
  // `<<: *anchor` or `<<: [*a, *b]`: copies keys the mapping does not set itself (earlier
  // sources win over later ones), as YAML 1.1 merge keys do.
  bool merge(const std::vector<YAML::Node>& merges, json::object& o, const std::string& path,
             int depth) {
    for (const YAML::Node& m : merges) {
      std::vector<YAML::Node> sources;
      if (m.IsSequence())
        for (const auto& e : m) sources.push_back(e);
      else
        sources.push_back(m);
      for (const auto& src : sources) {
        if (!src.IsMap()) {
          errors_.push_back(fmt::format("{}: a merge key (<<) takes a mapping or a list of them",
                                        field_path(path, "<<")));
          return false;
        }
        auto v = convert(src, field_path(path, "<<"), depth + 1);
        if (!v) return false;
        for (auto& kv : v->get_object())
          if (!o.contains(kv.key())) o.emplace(kv.key(), std::move(kv.value()));
      }
    }
    return true;
  }

  std::optional<json::value> scalar(const YAML::Node& n, const std::string& path) {
    const std::string& tag = n.Tag();
    const std::string& s = n.Scalar();
    if (tag == "!" || tag == "tag:yaml.org,2002:str") return json::value(json::string(s));
    if (tag == "?" || tag.empty()) {
      json::value v = resolve_plain(s);
      if (numbers_ && v.is_number()) (*numbers_)[path] = s;
      return v;
    }
    if (tag == "tag:yaml.org,2002:null" || tag == "tag:yaml.org,2002:bool" ||
        tag == "tag:yaml.org,2002:int" || tag == "tag:yaml.org,2002:float") {
      json::value v = resolve_plain(s);
      bool matches = tag.ends_with("null")   ? v.is_null()
                     : tag.ends_with("bool") ? v.is_bool()
                     : tag.ends_with("int")  ? v.is_int64()
                                             : v.is_number();
      if (matches) return v;
      errors_.push_back(
          fmt::format("{}: \"{}\" is not a valid {}", label(path), s, tag.substr(18)));
      return std::nullopt;
    }
    errors_.push_back(fmt::format("{}: unsupported YAML tag \"{}\"", label(path), tag));
    return std::nullopt;
  }

  std::vector<std::string>& errors_;
  NumberTexts* numbers_;
  size_t nodes_ = 0;
  bool too_many_ = false;
};

}  // namespace

std::optional<json::value> yaml_to_json(std::string_view text, std::vector<std::string>& errors,
                                        NumberTexts* numbers) {
  if (auto bad = check_flow_brackets(text)) {
    errors.push_back(*bad);
    return std::nullopt;
  }
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(text));
  } catch (const YAML::ParserException& e) {
    errors.push_back(fmt::format("line {}, column {}: malformed YAML: {}", e.mark.line + 1,
                                 e.mark.column + 1, e.msg));
    return std::nullopt;
  } catch (const YAML::Exception& e) {
    // Other yaml-cpp failures (e.g. nesting too deep) carry a message but maybe no position.
    errors.push_back(fmt::format("spec: malformed YAML: {}", e.msg));
    return std::nullopt;
  }
  if (docs.empty()) {
    errors.push_back("spec: empty document; expected a mapping with name and tasks");
    return std::nullopt;
  }
  if (docs.size() > 1) {
    errors.push_back(fmt::format("spec: expected one YAML document, found {}", docs.size()));
    return std::nullopt;
  }
  Converter c(errors, numbers);
  return c.convert(docs[0], "", 0);
}

}  // namespace ctflow::spec::detail
