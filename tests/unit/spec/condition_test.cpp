// `when:` conditions: grammar and evaluation.
#include <catch2/catch.hpp>

#include "scheduler/spec/condition.hpp"

using namespace ctflow::spec;

namespace {

TemplateContext context() {
  TemplateContext c;
  c.params = {{"threshold", 0.9}, {"env", "prod"}};
  c.outputs["gate"] = {{"promoted", true}, {"score", 10}, {"note", ""}, {"name", "b c"}};
  return c;
}

bool eval(const std::string& text) {
  auto r = evaluate_condition(Condition{text}, context());
  INFO(text << (r.ok() ? "" : ": " + r.error()));
  REQUIRE(r.ok());
  return *r;
}

}  // namespace

TEST_CASE("equality compares rendered text", "[spec][condition]") {
  CHECK(eval("{{tasks.gate.outputs.promoted}} == true"));
  CHECK_FALSE(eval("{{tasks.gate.outputs.promoted}} != true"));
  CHECK(eval("{{params.env}} == 'prod'"));
  CHECK(eval("{{params.env}}==prod"));
  CHECK(eval("{{tasks.gate.outputs.name}} == \"b c\""));
  CHECK(eval("{{ params.env }} != staging"));
}

TEST_CASE("comparison is numeric when both sides are numbers", "[spec][condition]") {
  CHECK(eval("{{tasks.gate.outputs.score}} > 9"));  // as strings "10" < "9"
  CHECK(eval("{{tasks.gate.outputs.score}} >= 10.0"));
  CHECK(eval("{{tasks.gate.outputs.score}} == 10.0"));
  CHECK_FALSE(eval("{{params.threshold}} < 0.5"));
  CHECK(eval("{{params.threshold}} <= 0.9"));
  CHECK(eval("-1 < 0"));
  CHECK(eval("abc < abd"));  // strings compare byte-wise
}

TEST_CASE("a lone operand is true unless empty, 0, false or null", "[spec][condition]") {
  CHECK(eval("{{tasks.gate.outputs.promoted}}"));
  CHECK_FALSE(eval("{{tasks.gate.outputs.note}}"));
  CHECK_FALSE(eval("0"));
  CHECK_FALSE(eval("FALSE"));
  CHECK_FALSE(eval("null"));
  CHECK_FALSE(eval("''"));
  CHECK(eval("yes"));
}

TEST_CASE("quoted literals are not rendered", "[spec][condition]") {
  CHECK(eval("'{{params.env}}' != prod"));
}

TEST_CASE("syntax errors are reported", "[spec][condition]") {
  CHECK(parse_condition("a = b").error() == "use == instead of = to compare");
  CHECK(parse_condition("").error() == "empty condition");
  CHECK(parse_condition("== b").error() == "expected an operand before \"==\"");
  CHECK(parse_condition("a ==").error() == "expected an operand after \"==\"");
  CHECK_FALSE(parse_condition("a == b == c").ok());
  CHECK_FALSE(parse_condition("a b").ok());
  CHECK_FALSE(parse_condition("'open").ok());
  CHECK_FALSE(parse_condition("{{params.x").ok());
  CHECK_FALSE(parse_condition("a ! b").ok());
  auto p = parse_condition("{{ params.x }} <= '3'");
  REQUIRE(p.ok());
  CHECK(p->lhs.text == "{{ params.x }}");
  CHECK(p->op == "<=");
  CHECK(p->rhs->text == "3");
  CHECK(p->rhs->quoted);
}

TEST_CASE("a condition whose value is missing fails naming the template", "[spec][condition]") {
  auto r = evaluate_condition(Condition{"{{tasks.x.outputs.y}} == 1"}, context());
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() == "{{tasks.x.outputs.y}}: no outputs from task \"x\"");
  auto bad = evaluate_condition(Condition{"a = b"}, context());
  CHECK(bad.error() == "when \"a = b\": use == instead of = to compare");
}
