#include "scheduler/spec/reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "scheduler/spec/spec.hpp"

namespace ctflow::spec::detail {

namespace json = boost::json;

std::string field_path(const std::string& base, std::string_view key) {
  return base.empty() ? std::string(key) : fmt::format("{}.{}", base, key);
}

std::string index_path(const std::string& base, size_t i) {
  return fmt::format("{}[{}]", base, i);
}

std::string label(const std::string& path) {
  return path.empty() ? "spec" : path;
}

static std::string clip(std::string_view s) {
  return s.size() <= 40 ? std::string(s) : std::string(s.substr(0, 37)) + "...";
}

std::string describe(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return v.get_bool() ? "a boolean (true)" : "a boolean (false)";
    case json::kind::int64:
      return fmt::format("an integer ({})", v.get_int64());
    case json::kind::uint64:
      return fmt::format("an integer ({})", v.get_uint64());
    case json::kind::double_:
      return fmt::format("a number ({})", v.get_double());
    case json::kind::string:
      return fmt::format("a string (\"{}\")", clip(v.get_string()));
    case json::kind::array:
      return "a list";
    case json::kind::object:
      return "a mapping";
  }
  return "a value";
}

// Levenshtein distance (case-insensitive), or limit + 1 as soon as it must exceed `limit`.
static size_t edit_distance(std::string_view a, std::string_view b, size_t limit) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    size_t row_min = row[0];
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      size_t sub = diag + (std::tolower(a[i - 1]) == std::tolower(b[j - 1]) ? 0 : 1);
      row[j] = std::min({sub, row[j] + 1, row[j - 1] + 1});
      row_min = std::min(row_min, row[j]);
      diag = up;
    }
    if (row_min > limit) return limit + 1;
  }
  return row[b.size()];
}

std::string nearest(std::string_view word, const std::vector<std::string>& candidates) {
  // Suggestions are for typos in short names; skipping huge inputs keeps validation linear.
  if (word.empty() || word.size() > 64 || candidates.size() > 1000) return "";
  std::string best;
  size_t best_d = SIZE_MAX;
  for (const auto& c : candidates) {
    // A typo is at most a third of the longer word, and never the whole word.
    size_t len = std::max(word.size(), c.size());
    size_t shortest = std::min(word.size(), c.size());
    size_t limit = std::min(std::max<size_t>(1, len / 3), shortest - (shortest > 0 ? 1 : 0));
    if (shortest == 0 || len - shortest > limit) continue;
    size_t d = edit_distance(word, c, limit);
    if (d <= limit && d < best_d && c != word) best_d = d, best = c;  // d == 0: only case differs
  }
  return best;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  std::string n = nearest(word, candidates);
  return n.empty() ? "" : fmt::format(" (did you mean \"{}\"?)", n);
}

std::optional<std::string> check_name(std::string_view name) {
  if (name.empty()) return "must not be empty";
  if (name.size() > kMaxNameLength)
    return fmt::format("name is {} characters, over the limit of {}", name.size(), kMaxNameLength);
  for (char c : name) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
    if (!ok)
      return fmt::format("\"{}\" may contain only letters, digits, '_', '.' and '-'", clip(name));
  }
  return std::nullopt;
}

std::optional<std::string> scalar_text(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string:
      return std::string(v.get_string());
    case json::kind::int64:
      return std::to_string(v.get_int64());
    case json::kind::uint64:
      return std::to_string(v.get_uint64());
    case json::kind::double_:
      return fmt::format("{}", v.get_double());
    case json::kind::bool_:
      return v.get_bool() ? "true" : "false";
    default:
      return std::nullopt;
  }
}

ObjectReader::ObjectReader(const json::value& v, std::string path, Errors& errors,
                           std::initializer_list<std::string_view> known)
    : path_(std::move(path)), errors_(errors) {
  obj_ = v.if_object();
  if (!obj_) {
    errors_.push_back(fmt::format("{}: expected a mapping, got {}", label(path_), describe(v)));
    return;
  }
  std::vector<std::string> names(known.begin(), known.end());
  for (const auto& kv : *obj_) {
    if (std::find(known.begin(), known.end(), kv.key()) != known.end()) continue;
    errors_.push_back(fmt::format("{}: unknown field \"{}\"{}", field_path(path_, kv.key()),
                                  std::string_view(kv.key()), did_you_mean(kv.key(), names)));
  }
}

void ObjectReader::fail(std::string_view key, const std::string& reason) {
  errors_.push_back(fmt::format("{}: {}", path(key), reason));
}

const json::value* ObjectReader::get(std::string_view key, bool required) {
  if (!obj_) return nullptr;
  const json::value* v = obj_->if_contains(key);
  if (!v && required) fail(key, "missing required field");
  return v;
}

std::optional<std::string> ObjectReader::str(std::string_view key, bool required) {
  const json::value* v = get(key, required);
  if (!v) return std::nullopt;
  if (!v->is_string()) {
    fail(key, "expected a string, got " + describe(*v));
    return std::nullopt;
  }
  return std::string(v->get_string());
}

std::optional<std::string> ObjectReader::name(std::string_view key, bool required) {
  auto s = str(key, required);
  if (!s) return std::nullopt;
  if (auto why = check_name(*s)) {
    fail(key, *why);
    return std::nullopt;
  }
  return s;
}

std::optional<std::string> ObjectReader::one_of(std::string_view key,
                                                std::initializer_list<std::string_view> choices) {
  auto s = str(key);
  if (!s) return std::nullopt;
  if (std::find(choices.begin(), choices.end(), *s) != choices.end()) return s;
  std::vector<std::string> names(choices.begin(), choices.end());
  std::string list;
  for (const auto& c : names) list += (list.empty() ? "" : ", ") + c;
  fail(key, fmt::format("\"{}\" is not one of {}{}", *s, list, did_you_mean(*s, names)));
  return std::nullopt;
}

std::optional<int> ObjectReader::integer(std::string_view key, int64_t min, int64_t max) {
  const json::value* v = get(key);
  if (!v) return std::nullopt;
  std::optional<int64_t> n;
  if (v->is_int64()) n = v->get_int64();
  if (v->is_double() && std::trunc(v->get_double()) == v->get_double() &&
      std::abs(v->get_double()) < 1e15)
    n = static_cast<int64_t>(v->get_double());
  if (!n) {
    fail(key, "expected an integer, got " + describe(*v));
    return std::nullopt;
  }
  if (*n < min) {
    fail(key, fmt::format("must be >= {}, got {}", min, *n));
    return std::nullopt;
  }
  if (*n > max) {
    fail(key, fmt::format("must be <= {}, got {}", max, *n));
    return std::nullopt;
  }
  return static_cast<int>(*n);
}

std::optional<double> ObjectReader::number(std::string_view key, double min) {
  const json::value* v = get(key);
  if (!v) return std::nullopt;
  if (!v->is_number()) {
    fail(key, "expected a number, got " + describe(*v));
    return std::nullopt;
  }
  double d = v->to_number<double>();
  if (!(d >= min)) {
    fail(key, fmt::format("must be >= {}, got {}", min, d));
    return std::nullopt;
  }
  return d;
}

std::optional<bool> ObjectReader::boolean(std::string_view key) {
  const json::value* v = get(key);
  if (!v) return std::nullopt;
  if (!v->is_bool()) {
    fail(key, "expected true or false, got " + describe(*v));
    return std::nullopt;
  }
  return v->get_bool();
}

std::optional<Millis> ObjectReader::duration(std::string_view key, bool allow_zero) {
  const json::value* v = get(key);
  if (!v) return std::nullopt;
  std::optional<Millis> d;
  if (v->is_string()) d = parse_duration(v->get_string());
  if (v->is_number()) {  // a number of seconds, possibly fractional
    double secs = v->to_number<double>();
    if (secs >= 0 && secs < double(int64_t{1} << 40)) d = Millis(std::llround(secs * 1000));
  }
  if (!d) {
    fail(key, fmt::format("expected a duration such as \"90s\", \"30m\", \"1h30m\" or a number of "
                          "seconds, got {}",
                          describe(*v)));
    return std::nullopt;
  }
  if (!allow_zero && d->count() == 0) {
    fail(key, "must be greater than zero");
    return std::nullopt;
  }
  return d;
}

std::optional<TimePoint> ObjectReader::instant(std::string_view key) {
  auto s = str(key);
  if (!s) return std::nullopt;
  auto t = parse_iso8601(*s);
  if (!t) fail(key, fmt::format("\"{}\" is not an ISO-8601 time such as 2026-01-31T03:00:00Z", *s));
  return t;
}

}  // namespace ctflow::spec::detail
