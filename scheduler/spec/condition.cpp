#include "scheduler/spec/condition.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <vector>

namespace ctflow::spec {
namespace {

bool is_space(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}
bool is_op_char(char c) {
  return c == '=' || c == '!' || c == '<' || c == '>';
}

struct Token {
  bool is_op = false;
  ConditionOperand operand;
  std::string op;
};

Result<std::vector<Token>> tokenize(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    if (is_space(s[i])) {
      ++i;
      continue;
    }
    Token t;
    if (is_op_char(s[i])) {
      size_t n = (i + 1 < s.size() && s[i + 1] == '=') ? 2 : 1;
      t.is_op = true;
      t.op = std::string(s.substr(i, n));
      if (t.op == "=") return Error{"use == instead of = to compare"};
      if (t.op == "!") return Error{"\"!\" is not an operator; use != to compare"};
      i += n;
    } else if (s[i] == '\'' || s[i] == '"') {
      size_t close = s.find(s[i], i + 1);
      if (close == std::string_view::npos)
        return Error{fmt::format("unterminated quote {}", s.substr(i))};
      t.operand = {std::string(s.substr(i + 1, close - i - 1)), true};
      i = close + 1;
    } else {
      size_t start = i;
      while (i < s.size() && !is_space(s[i]) && !is_op_char(s[i])) {
        if (s.substr(i, 2) == "{{") {  // a template is one piece, spaces and all
          size_t close = s.find("}}", i + 2);
          if (close == std::string_view::npos)
            return Error{fmt::format("unterminated template \"{}\"", s.substr(i))};
          i = close + 2;
        } else {
          ++i;
        }
      }
      t.operand = {std::string(s.substr(start, i - start)), false};
    }
    out.push_back(std::move(t));
  }
  return out;
}

std::optional<double> as_number(const std::string& s) {
  if (s.empty()) return std::nullopt;
  double d = 0;
  const char* b = s.data() + (s[0] == '+' ? 1 : 0);
  auto [p, ec] = std::from_chars(b, s.data() + s.size(), d);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return d;
}

bool truthy(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return !(s.empty() || s == "0" || s == "false" || s == "null");
}

Result<std::string> value(const ConditionOperand& o, const TemplateContext& ctx) {
  if (o.quoted) return o.text;
  return render(o.text, ctx);
}

}  // namespace

Result<ParsedCondition> parse_condition(std::string_view text) {
  auto tokens = tokenize(text);
  if (!tokens.ok()) return Error{tokens.error()};
  const auto& t = *tokens;
  if (t.empty()) return Error{"empty condition"};
  if (t[0].is_op) return Error{fmt::format("expected an operand before \"{}\"", t[0].op)};
  ParsedCondition c;
  c.lhs = t[0].operand;
  if (t.size() == 1) return c;
  if (!t[1].is_op)
    return Error{fmt::format("expected an operator (== != < <= > >=) after \"{}\", got \"{}\"",
                             t[0].operand.text, t[1].operand.text)};
  c.op = t[1].op;
  if (t.size() == 2) return Error{fmt::format("expected an operand after \"{}\"", c.op)};
  if (t[2].is_op)
    return Error{fmt::format("expected an operand after \"{}\", got \"{}\"", c.op, t[2].op)};
  if (t.size() > 3)
    return Error{
        "only one comparison is allowed (OPERAND OP OPERAND); quote literals that "
        "contain spaces"};
  c.rhs = t[2].operand;
  return c;
}

Result<bool> evaluate_condition(const Condition& cond, const TemplateContext& ctx) {
  auto parsed = parse_condition(cond.text);
  if (!parsed.ok()) return Error{fmt::format("when \"{}\": {}", cond.text, parsed.error())};
  auto lhs = value(parsed->lhs, ctx);
  if (!lhs.ok()) return Error{lhs.error()};
  if (!parsed->rhs) return truthy(*lhs);
  auto rhs = value(*parsed->rhs, ctx);
  if (!rhs.ok()) return Error{rhs.error()};
  const std::string& op = parsed->op;
  int cmp;
  auto a = as_number(*lhs), b = as_number(*rhs);
  if (a && b)
    cmp = *a < *b ? -1 : (*a > *b ? 1 : 0);
  else
    cmp = lhs->compare(*rhs) < 0 ? -1 : (lhs->compare(*rhs) > 0 ? 1 : 0);
  if (op == "==") return cmp == 0;
  if (op == "!=") return cmp != 0;
  if (op == "<") return cmp < 0;
  if (op == "<=") return cmp <= 0;
  if (op == ">") return cmp > 0;
  return cmp >= 0;
}

}  // namespace ctflow::spec
