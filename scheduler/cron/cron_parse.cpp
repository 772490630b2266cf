// Parsing of five-field cron expressions and macros into bitsets.
#include <cctype>
#include <string_view>

#include "scheduler/cron/cron.hpp"

namespace ctflow::cron {
namespace {

// One field's grammar: its name in errors, its value range and its names (index = value).
struct FieldSpec {
  const char* name;
  int min;
  int max;
  const char* const* names;  // nullptr, or lowercase three-letter names
  int names_count;           // how many names
  int names_base;            // value of names[0]
};

constexpr const char* kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr const char* kDayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

// Day-of-week accepts 0-7 (7 = Sunday); the 7 is folded into 0 after parsing.
constexpr FieldSpec kFields[5] = {
    {"minute", 0, 59, nullptr, 0, 0},       {"hour", 0, 23, nullptr, 0, 0},
    {"day-of-month", 1, 31, nullptr, 0, 0}, {"month", 1, 12, kMonthNames, 12, 1},
    {"day-of-week", 0, 7, kDayNames, 7, 0},
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A token as shown in an error: quoted, and cut so that a huge input gives a short line.
std::string quote(std::string_view tok) {
  if (tok.size() > 24) return "\"" + std::string(tok.substr(0, 24)) + "...\"";
  return "\"" + std::string(tok) + "\"";
}

std::string field_error(const FieldSpec& f, const std::string& reason) {
  return std::string(f.name) + ": " + reason;
}

// A single value: digits or (for month/day-of-week) a three-letter name.
Result<int> parse_value(const FieldSpec& f, std::string_view tok) {
  if (tok.empty()) return Error{field_error(f, "empty value")};
  bool digits = true;
  for (char c : tok) digits = digits && std::isdigit(static_cast<unsigned char>(c));
  std::string range = std::to_string(f.min) + "-" + std::to_string(f.max);
  if (digits) {
    // More than 3 digits cannot be in range; checking first avoids overflow.
    int v = tok.size() > 3 ? f.max + 1 : std::stoi(std::string(tok));
    if (v < f.min || v > f.max)
      return Error{field_error(
          f, (tok.size() > 24 ? quote(tok) : std::string(tok)) + " is out of range " + range)};
    return v;
  }
  if (f.names != nullptr) {
    std::string low = lower(tok);
    for (int i = 0; i < f.names_count; ++i)
      if (low == f.names[i]) return f.names_base + i;
    return Error{field_error(f, "unknown name " + quote(tok))};
  }
  return Error{field_error(f, quote(tok) + " is not a number in range " + range)};
}

Result<int> parse_step(const FieldSpec& f, std::string_view tok) {
  if (tok.empty()) return Error{field_error(f, "empty step after '/'")};
  for (char c : tok)
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return Error{field_error(f, "step " + quote(tok) + " is not a number")};
  int span = f.max - f.min + 1;
  int v = tok.size() > 3 ? span + 1 : std::stoi(std::string(tok));
  if (v < 1 || v > span)
    return Error{field_error(f, "step " + (tok.size() > 24 ? quote(tok) : std::string(tok)) +
                                    " is out of range 1-" + std::to_string(span))};
  return v;
}

// One list item: `*`, `*/S`, `N`, `A-B`, `A-B/S`, `A/S`. Sets bits [min..max] in `bits`.
std::optional<std::string> parse_item(const FieldSpec& f, std::string_view item,
                                      std::bitset<64>& bits) {
  if (item.empty()) return field_error(f, "empty list item");
  std::string_view base = item;
  int step = 1;
  bool has_step = false;
  if (size_t slash = item.find('/'); slash != std::string_view::npos) {
    base = item.substr(0, slash);
    auto s = parse_step(f, item.substr(slash + 1));
    if (!s) return s.error();
    step = *s;
    has_step = true;
  }
  int lo = 0, hi = 0;
  if (base == "*") {
    lo = f.min;
    hi = f.max;
  } else if (size_t dash = base.find('-'); dash != std::string_view::npos) {
    auto a = parse_value(f, base.substr(0, dash));
    if (!a) return a.error();
    auto b = parse_value(f, base.substr(dash + 1));
    if (!b) return b.error();
    if (*a > *b) {
      std::string why = "reversed range " + std::to_string(*a) + "-" + std::to_string(*b);
      if (f.names != nullptr && !std::isdigit(static_cast<unsigned char>(base[0])))
        why += " (" + lower(base) + ")";
      return field_error(f, why);
    }
    lo = *a;
    hi = *b;
  } else {
    auto a = parse_value(f, base);
    if (!a) return a.error();
    lo = *a;
    hi = has_step ? f.max : *a;  // `A/S` means A-max/S, as in most cron implementations
  }
  for (int v = lo; v <= hi; v += step) bits.set(static_cast<size_t>(v));
  return std::nullopt;
}

std::optional<std::string> parse_field(const FieldSpec& f, std::string_view text,
                                       std::bitset<64>& bits) {
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    std::string_view item =
        text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    if (auto err = parse_item(f, item, bits)) return err;
    if (comma == std::string_view::npos) return std::nullopt;
    start = comma + 1;
  }
}

std::vector<std::string_view> split_ws(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t start = i;
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

// Macro -> its five-field equivalent, or nullptr.
const char* expand_macro(const std::string& low) {
  if (low == "@hourly") return "0 * * * *";
  if (low == "@daily" || low == "@midnight") return "0 0 * * *";
  if (low == "@weekly") return "0 0 * * 0";
  if (low == "@monthly") return "0 0 1 * *";
  if (low == "@yearly" || low == "@annually") return "0 0 1 1 *";
  return nullptr;
}

template <size_t N>
std::bitset<N> narrow(const std::bitset<64>& b) {
  std::bitset<N> out;
  for (size_t i = 0; i < N; ++i) out[i] = b[i];
  return out;
}

}  // namespace

bool CronExpr::day_matches(const cctz::civil_day& d) const {
  if (!months_[static_cast<size_t>(d.month())]) return false;
  bool dom = dom_[static_cast<size_t>(d.day())];
  // cctz::weekday: monday=0 ... sunday=6; ours: sunday=0.
  int wd = (static_cast<int>(cctz::get_weekday(d)) + 1) % 7;
  bool dow = dow_[static_cast<size_t>(wd)];
  // Vixie cron: OR when both day fields are restricted, else AND (the `*` field is all-true
  // unless it is `*/n`, which still counts as unrestricted for choosing the rule).
  if (dom_star_ || dow_star_) return dom && dow;
  return dom || dow;
}

Result<CronExpr> parse_cron(const std::string& expr) {
  auto parts = split_ws(expr);
  if (parts.empty()) return Error{"empty expression"};
  std::string text = std::string(parts.front().data(),
                                 parts.back().data() + parts.back().size() - parts.front().data());
  std::string expanded;
  if (parts.size() == 1 && parts[0][0] == '@') {
    const char* m = expand_macro(lower(parts[0]));
    if (m == nullptr)
      return Error{"unknown macro " + quote(parts[0]) +
                   " (expected @hourly, @daily, @midnight, @weekly, @monthly, @yearly or "
                   "@annually)"};
    expanded = m;
    parts = split_ws(expanded);
  }
  if (parts.size() != 5)
    return Error{"expected 5 fields (minute hour day-of-month month day-of-week), got " +
                 std::to_string(parts.size())};
  std::bitset<64> bits[5];
  for (int i = 0; i < 5; ++i)
    if (auto err = parse_field(kFields[i], parts[static_cast<size_t>(i)], bits[i]))
      return Error{*err};
  if (bits[4][7]) bits[4].set(0);  // 7 = Sunday
  CronExpr out;
  out.minutes_ = narrow<60>(bits[0]);
  out.hours_ = narrow<24>(bits[1]);
  out.dom_ = narrow<32>(bits[2]);
  out.months_ = narrow<13>(bits[3]);
  out.dow_ = narrow<7>(bits[4]);
  out.dom_star_ = parts[2][0] == '*';
  out.dow_star_ = parts[4][0] == '*';
  out.text_ = std::move(text);
  return out;
}

}  // namespace ctflow::cron
