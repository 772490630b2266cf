#include "scheduler/spec/yaml_json.hpp"
#include "scheduler/spec/yaml_guard.hpp"

#include <fmt/format.h>
#include <yaml.h>

#include <charconv>
#include <map>

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

// libyaml's event parser (well fuzzed, bounded memory) drives a recursive descent that builds
// JSON directly; anchors keep their converted value and aliases copy it, counting its nodes.
class Converter {
 public:
  Converter(std::vector<std::string>& errors, NumberTexts* numbers, size_t max_nodes)
      : errors_(errors), numbers_(numbers), max_nodes_(max_nodes) {}
  ~Converter() {
    if (have_event_) yaml_event_delete(&ev_);
    yaml_parser_delete(&parser_);
  }

  std::optional<json::value> run(std::string_view text) {
    yaml_parser_initialize(&parser_);
    yaml_parser_set_input_string(&parser_, reinterpret_cast<const unsigned char*>(text.data()),
                                 text.size());
    if (!next() || ev_.type != YAML_STREAM_START_EVENT) return fail_parse();
    if (!next()) return fail_parse();
    if (ev_.type == YAML_STREAM_END_EVENT) {
      errors_.push_back("spec: empty document; expected a mapping with name and tasks");
      return std::nullopt;
    }
    if (!next()) return fail_parse();  // past DOCUMENT-START
    auto v = node("", 0);
    if (!v) return std::nullopt;
    if (!next()) return fail_parse();  // DOCUMENT-END
    size_t docs = 1;
    while (true) {
      if (!next()) return fail_parse();
      if (ev_.type == YAML_STREAM_END_EVENT) break;
      if (ev_.type == YAML_DOCUMENT_START_EVENT) ++docs;
    }
    if (docs > 1) {
      errors_.push_back(fmt::format("spec: expected one YAML document, found {}", docs));
      return std::nullopt;
    }
    return v;
  }

 private:
  bool next() {
    if (have_event_) yaml_event_delete(&ev_);
    have_event_ = yaml_parser_parse(&parser_, &ev_) != 0;
    return have_event_;
  }

  std::nullopt_t fail_parse() {
    fatal_ = true;
    if (parser_.error == YAML_NO_ERROR) {
      errors_.push_back("spec: malformed YAML");
    } else {
      const auto& m = parser_.problem_mark;
      std::string what = parser_.problem ? parser_.problem : "cannot parse";
      if (parser_.context) what = std::string(parser_.context) + ": " + what;
      errors_.push_back(
          fmt::format("line {}, column {}: malformed YAML: {}", m.line + 1, m.column + 1, what));
    }
    return std::nullopt;
  }

  // Records a number's text under its path; the log (in conversion order) lets an anchor take
  // its subtree's entries in time proportional to them.
  void add_number(const std::string& path, const std::string& text) {
    if (!numbers_) return;
    (*numbers_)[path] = text;
    number_log_.emplace_back(path, text);
  }

  static std::string str(const yaml_char_t* s) {
    return s ? std::string(reinterpret_cast<const char*>(s)) : std::string();
  }

  // Counts n more nodes; `copied` ones are copies made by an alias, which have their own, lower
  // budget: an alias bomb copies values, slower a node than parsing one, and only input written
  // to be hostile copies hundreds of thousands.
  bool count(size_t n, bool copied = false) {
    nodes_ += n;
    if (copied) copied_ += n;
    if (nodes_ <= max_nodes_ && copied_ <= kMaxAliasNodes) return true;
    fatal_ = true;
    if (!too_many_)
      errors_.push_back(
          copied_ > kMaxAliasNodes
              ? fmt::format("spec: more than {} YAML nodes after expanding aliases", kMaxAliasNodes)
              : fmt::format("spec: more than {} YAML nodes", max_nodes_));
    too_many_ = true;
    return false;
  }

  // Converts the node whose first event is the current one; on return the current event is its
  // last (the scalar, alias, or the end of the collection).
  std::optional<json::value> node(const std::string& path, int depth) {
    if (depth > kMaxDepth) {
      // The full path would be hundreds of characters: name the top-level field only.
      std::string top = path.substr(0, path.find_first_of(".["));
      errors_.push_back(fmt::format("{}: nested deeper than {} levels", label(top), kMaxDepth));
      fatal_ = true;
      return std::nullopt;
    }
    size_t before = nodes_, numbers_before = number_log_.size();
    if (!count(1)) return std::nullopt;
    std::string anchor;
    std::optional<json::value> v;
    switch (ev_.type) {
      case YAML_ALIAS_EVENT: {
        auto it = anchors_.find(str(ev_.data.alias.anchor));
        if (it == anchors_.end()) {
          errors_.push_back(
              fmt::format("{}: unknown anchor \"{}\"", label(path), str(ev_.data.alias.anchor)));
          return std::nullopt;
        }
        if (!count(it->second.nodes, true)) return std::nullopt;
        if (numbers_)  // the copy keeps the numbers' spelling under its own path
          for (const auto& [rel, text] : it->second.numbers) add_number(path + rel, text);
        return it->second.value;
      }
      case YAML_SCALAR_EVENT:
        anchor = str(ev_.data.scalar.anchor);
        v = scalar(path);
        break;
      case YAML_SEQUENCE_START_EVENT:
        anchor = str(ev_.data.sequence_start.anchor);
        v = sequence(path, depth);
        break;
      case YAML_MAPPING_START_EVENT:
        anchor = str(ev_.data.mapping_start.anchor);
        v = mapping(path, depth);
        break;
      default:
        errors_.push_back(fmt::format("{}: malformed YAML", label(path)));
        fatal_ = true;
        return std::nullopt;
    }
    if (v && !anchor.empty()) {
      Anchor& an = anchors_[anchor];
      an.value = *v;
      an.nodes = nodes_ - before;
      an.numbers.clear();
      for (size_t i = numbers_before; i < number_log_.size(); ++i)
        an.numbers.emplace_back(number_log_[i].first.substr(path.size()), number_log_[i].second);
    }
    return v;
  }

  std::optional<json::value> sequence(const std::string& path, int depth) {
    json::array a;
    bool ok = true;
    for (size_t i = 0;; ++i) {
      if (!next()) return fail_parse();
      if (ev_.type == YAML_SEQUENCE_END_EVENT) break;
      auto v = node(index_path(path, i), depth + 1);
      if (!v) {
        if (fatal_) return std::nullopt;
        ok = false;  // go on: the later items' errors are reported too
        continue;
      }
      a.push_back(std::move(*v));
    }
    if (!ok) return std::nullopt;
    return json::value(std::move(a));
  }

  std::optional<json::value> mapping(const std::string& path, int depth) {
    json::object o;
    bool ok = true;
    std::vector<std::pair<json::value, std::string>> merges;  // value, path
    while (true) {
      if (!next()) return fail_parse();
      if (ev_.type == YAML_MAPPING_END_EVENT) break;
      std::string key;
      bool merge_key = false;
      if (ev_.type == YAML_SCALAR_EVENT) {
        key.assign(reinterpret_cast<const char*>(ev_.data.scalar.value), ev_.data.scalar.length);
        merge_key =
            key == "<<" && ev_.data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !ev_.data.scalar.tag;
        if (!count(1)) return std::nullopt;
      } else {
        errors_.push_back(fmt::format("{}: mapping keys must be plain strings", label(path)));
        if (!node(path, depth + 1) && fatal_) return std::nullopt;  // skip the key's events
        if (!next()) return fail_parse();
        if (!node(path, depth + 1) && fatal_) return std::nullopt;  // and its value's
        ok = false;
        continue;
      }
      std::string child = field_path(path, key);
      if (!next()) return fail_parse();
      auto v = node(child, depth + 1);
      if (!v) {
        if (fatal_) return std::nullopt;
        ok = false;
        continue;
      }
      if (merge_key) {  // YAML merge key: applied after the mapping's own keys
        merges.emplace_back(std::move(*v), child);
        continue;
      }
      if (o.contains(key)) {
        errors_.push_back(fmt::format("{}: duplicate key \"{}\"", child, key));
        ok = false;
        continue;
      }
      o.emplace(key, std::move(*v));
    }
    // `<<: *anchor` or `<<: [*a, *b]`: copies keys the mapping does not set itself (earlier
    // sources win over later ones), as YAML 1.1 merge keys do.
    for (auto& [m, mpath] : merges) {
      std::vector<json::value*> sources;
      if (m.is_array())
        for (auto& e : m.as_array()) sources.push_back(&e);
      else
        sources.push_back(&m);
      for (auto* src : sources) {
        if (!src->is_object()) {
          errors_.push_back(
              fmt::format("{}: a merge key (<<) takes a mapping or a list of them", mpath));
          return std::nullopt;
        }
        for (auto& kv : src->as_object())
          if (!o.contains(kv.key())) o.emplace(kv.key(), std::move(kv.value()));
      }
    }
    if (!ok) return std::nullopt;
    return json::value(std::move(o));
  }

  std::optional<json::value> scalar(const std::string& path) {
    const auto& sc = ev_.data.scalar;
    std::string s(reinterpret_cast<const char*>(sc.value), sc.length);
    std::string tag = str(sc.tag);
    if (tag.empty()) {
      if (sc.style != YAML_PLAIN_SCALAR_STYLE) return json::value(json::string(s));
      json::value v = resolve_plain(s);
      if (v.is_number()) add_number(path, s);
      return v;
    }
    if (tag == "!" || tag == "tag:yaml.org,2002:str") return json::value(json::string(s));
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
  const size_t max_nodes_;  // kMaxYamlNodes for input; unbounded for a stored spec
  yaml_parser_t parser_{};
  yaml_event_t ev_{};
  bool have_event_ = false;
  struct Anchor {
    json::value value;
    size_t nodes = 0;                                          // counted again at each alias
    std::vector<std::pair<std::string, std::string>> numbers;  // path below the anchor, text
  };
  std::map<std::string, Anchor> anchors_;
  std::vector<std::pair<std::string, std::string>> number_log_;
  size_t nodes_ = 0;
  size_t copied_ = 0;  // of nodes_, those copied by aliases
  bool too_many_ = false;
  bool fatal_ = false;  // the event stream is no longer in step: stop converting
};

}  // namespace

std::optional<json::value> yaml_to_json(std::string_view text, std::vector<std::string>& errors,
                                        NumberTexts* numbers, size_t max_nodes) {
  if (auto bad = check_flow_brackets(text)) {
    errors.push_back(*bad);
    return std::nullopt;
  }
  Converter c(errors, numbers, max_nodes);
  return c.run(text);
}

}  // namespace ctflow::spec::detail
