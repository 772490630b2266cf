#pragma once
// Templates inside task argv, env values, `when:` conditions and hpo.trial.run:
//   {{params.NAME}}                 a pipeline param (after defaults and -p overrides)
//   {{run.id}} {{run.logical_date}} {{run.data_interval_start}} {{run.data_interval_end}}
//   {{tasks.NAME.outputs.KEY}}      an output of an upstream ancestor task
//   {{tasks.NAME.best.KEY}}         the best trial of an upstream hpo task: a space dimension, or
//                                   the objective metric under its metric name
//   {{trial.NAME}}                  this trial's value of a space dimension (hpo.trial.run only)
// Whitespace inside the braces is allowed ("{{ params.x }}"). There is no escape for a literal
// "{{". kNamespaces is the one table of namespaces: the validator (validate.cpp) and render()
// both read it. Pure functions; thread-safe.
#include <boost/json.hpp>

#include <array>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scheduler/common/result.hpp"

namespace ctflow::spec {

enum class RefKind { Param, RunField, TaskOutput, TaskBest, Trial };

struct TemplateNamespace {
  std::string_view prefix;    // first segment: params | run | tasks | trial
  std::string_view selector;  // tasks only: the segment after NAME (outputs | best); else ""
  RefKind kind;
  std::string_view form;  // how it is written, for messages
};

inline constexpr std::array<TemplateNamespace, 5> kNamespaces{{
    {"params", "", RefKind::Param, "params.NAME"},
    {"run", "", RefKind::RunField, "run.FIELD"},
    {"tasks", "outputs", RefKind::TaskOutput, "tasks.NAME.outputs.KEY"},
    {"tasks", "best", RefKind::TaskBest, "tasks.NAME.best.KEY"},
    {"trial", "", RefKind::Trial, "trial.NAME"},
}};

inline constexpr std::array<std::string_view, 4> kRunFields{
    "id", "logical_date", "data_interval_start", "data_interval_end"};

// One parsed reference. `name` is the param/run field/task/dimension name (task names may contain
// dots: the KEY is the last segment and the selector the one before it); `key` is set for
// tasks.* only. `text` is the template as written, braces included, for messages.
struct TemplateRef {
  RefKind kind = RefKind::Param;
  std::string name;
  std::string key;
  std::string text;
};

// A string cut into literal text and references, in order.
struct TemplatePiece {
  std::string literal;  // used when !ref
  std::optional<TemplateRef> ref;
};
struct TemplateScan {
  std::vector<TemplatePiece> pieces;
  std::vector<std::string> errors;  // syntax problems, e.g. "{{parms.x}}: unknown namespace ..."
};
TemplateScan scan_template(std::string_view text);

// Values available when a task is dispatched. Owned by the caller; render() only reads it.
struct TemplateContext {
  boost::json::object params;  // resolved params (resolve_params)
  struct Run {
    std::string id;
    std::string logical_date;         // ISO-8601
    std::string data_interval_start;  // ISO-8601
    std::string data_interval_end;    // ISO-8601
  } run;
  std::map<std::string, boost::json::object> outputs;  // task name -> its "outputs" object
  std::map<std::string, boost::json::object> best;     // hpo task name -> best trial's values
  boost::json::object trial;                           // this trial's values (trial runs only)
};

// A JSON value as template text: strings as they are, numbers in shortest round-trip decimal
// form (3, 0.5, 1e-05), true/false/null, and lists/mappings as compact JSON.
std::string render_value(const boost::json::value& v);

// Replaces every reference. Errors (first one only): a syntax error, or a missing value naming
// the template ("{{tasks.split.outputs.rows}}: task \"split\" has no output \"rows\"").
Result<std::string> render(std::string_view text, const TemplateContext& ctx);
Result<std::vector<std::string>> render_all(const std::vector<std::string>& texts,
                                            const TemplateContext& ctx);

// True if `text` contains "{{" (cheap test before scanning).
inline bool has_template(std::string_view text) {
  return text.find("{{") != std::string_view::npos;
}

}  // namespace ctflow::spec
