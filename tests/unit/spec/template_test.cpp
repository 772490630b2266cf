// Templates: the namespace table, scanning, and rendering against a context.
#include <catch2/catch.hpp>

#include "scheduler/spec/template.hpp"

using namespace ctflow::spec;
namespace json = boost::json;

namespace {

TemplateContext context() {
  TemplateContext c;
  c.params = {{"who", "world"}, {"n", 3}, {"ratio", 0.5}, {"on", true}};
  c.run.id = "run-42";
  c.run.logical_date = "2026-03-08T03:00:00Z";
  c.run.data_interval_start = "2026-03-07T03:00:00Z";
  c.run.data_interval_end = "2026-03-08T03:00:00Z";
  c.outputs["split"] = {{"rows", 1200}, {"path", "/data/x"}, {"ok", false}};
  c.best["tune"] = {{"lr", 0.001}, {"dim", 64}, {"val_accuracy", 0.97}};
  c.trial = {{"lr", 0.01}, {"act", "relu"}};
  return c;
}

}  // namespace

TEST_CASE("render replaces every namespace", "[spec][template]") {
  auto c = context();
  CHECK(*render("hello {{params.who}}", c) == "hello world");
  CHECK(*render("{{run.id}} {{run.logical_date}}", c) == "run-42 2026-03-08T03:00:00Z");
  CHECK(*render("{{run.data_interval_start}}/{{run.data_interval_end}}", c) ==
        "2026-03-07T03:00:00Z/2026-03-08T03:00:00Z");
  CHECK(*render("{{tasks.split.outputs.path}}/part", c) == "/data/x/part");
  CHECK(*render("--lr={{tasks.tune.best.lr}}", c) == "--lr=0.001");
  CHECK(*render("{{trial.act}}", c) == "relu");
  CHECK(*render("no templates {here}", c) == "no templates {here}");
}

TEST_CASE("whitespace inside braces is allowed", "[spec][template]") {
  CHECK(*render("{{ params.who }}-{{params.n   }}", context()) == "world-3");
}

TEST_CASE("non-string values render as their JSON text", "[spec][template]") {
  auto c = context();
  CHECK(*render("{{params.n}}", c) == "3");
  CHECK(*render("{{params.ratio}}", c) == "0.5");
  CHECK(*render("{{params.on}}", c) == "true");
  CHECK(*render("{{tasks.split.outputs.ok}}", c) == "false");
  CHECK(render_value(json::value(nullptr)) == "null");
  CHECK(render_value(json::array{1, "a"}) == R"([1,"a"])");
}

TEST_CASE("a missing value is an error naming the template", "[spec][template]") {
  auto c = context();
  auto r = render("x {{tasks.split.outputs.size}}", c);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() == "{{tasks.split.outputs.size}}: task \"split\" has no output \"size\"");
  CHECK(render("{{tasks.train.outputs.model}}", c).error() ==
        "{{tasks.train.outputs.model}}: no outputs from task \"train\"");
  CHECK(render("{{ params.missing }}", c).error() ==
        "{{ params.missing }}: no value for param \"missing\"");
  c.run.logical_date.clear();
  CHECK(render("{{run.logical_date}}", c).error() ==
        "{{run.logical_date}}: run.logical_date is not set for this run");
  CHECK_FALSE(render("{{trial.dim}}", c).ok());
  CHECK_FALSE(render("{{tasks.tune.best.nope}}", c).ok());
}

TEST_CASE("render reports syntax errors", "[spec][template]") {
  auto c = context();
  CHECK(render("{{params.who", c).error() ==
        "unterminated template \"{{params.who\": missing \"}}\"");
  CHECK_FALSE(render("{{secrets.x}}", c).ok());
}

TEST_CASE("every namespace in the table scans to its kind", "[spec][template]") {
  for (const auto& ns : kNamespaces) {
    std::string text = "{{" + std::string(ns.prefix) + ".";
    text += ns.kind == RefKind::RunField ? std::string(kRunFields[0]) : "some.name";
    if (!ns.selector.empty()) text += "." + std::string(ns.selector) + ".key";
    text += "}}";
    INFO(text);
    TemplateScan scan = scan_template(text);
    REQUIRE(scan.errors.empty());
    REQUIRE(scan.pieces.size() == 1);
    REQUIRE(scan.pieces[0].ref);
    CHECK(scan.pieces[0].ref->kind == ns.kind);
  }
}

TEST_CASE("task names with dots: KEY is the last segment", "[spec][template]") {
  TemplateScan scan = scan_template("a{{tasks.fetch.v1.outputs.path}}b");
  REQUIRE(scan.errors.empty());
  REQUIRE(scan.pieces.size() == 3);
  CHECK(scan.pieces[0].literal == "a");
  CHECK(scan.pieces[1].ref->name == "fetch.v1");
  CHECK(scan.pieces[1].ref->key == "path");
  CHECK(scan.pieces[2].literal == "b");
}

TEST_CASE("scan collects every syntax error in a string", "[spec][template]") {
  TemplateScan scan = scan_template("{{run.date}} {{tasks.a.b}} {{}}");
  CHECK(scan.errors.size() == 3);
}

TEST_CASE("render_all renders each argument or fails on the first error", "[spec][template]") {
  auto c = context();
  auto ok = render_all({"echo", "{{params.who}}"}, c);
  REQUIRE(ok.ok());
  CHECK(*ok == std::vector<std::string>{"echo", "world"});
  CHECK_FALSE(render_all({"echo", "{{params.nope}}"}, c).ok());
}
