#pragma once
// `when:` conditions (grammar in spec.hpp, struct Condition). Pure functions; thread-safe.
#include <optional>
#include <string>
#include <string_view>

#include "scheduler/common/result.hpp"
#include "scheduler/spec/spec.hpp"
#include "scheduler/spec/template.hpp"

namespace ctflow::spec {

struct ConditionOperand {
  std::string text;     // without the quotes when quoted
  bool quoted = false;  // quoted literals are not rendered (templates inside stay literal)
};

struct ParsedCondition {
  ConditionOperand lhs;
  std::string op;  // "" for a lone operand, else == != < <= > >=
  std::optional<ConditionOperand> rhs;
};

// Syntax only (templates inside operands are checked by the validator). The error says what is
// wrong: "expected an operand after \"==\"", "unterminated quote", "use == instead of =", ...
Result<ParsedCondition> parse_condition(std::string_view text);

// Renders the operands with `ctx` and compares them. Errors: syntax, or a template with no value.
Result<bool> evaluate_condition(const Condition& c, const TemplateContext& ctx);

}  // namespace ctflow::spec
