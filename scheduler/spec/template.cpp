#include "scheduler/spec/template.hpp"

#include <fmt/format.h>

#include "scheduler/spec/reader.hpp"

namespace ctflow::spec {
namespace {

namespace json = boost::json;

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::vector<std::string> split_dots(std::string_view s) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t dot = s.find('.', start);
    parts.emplace_back(s.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) return parts;
    start = dot + 1;
  }
}

std::string join(const std::vector<std::string>& parts, size_t from, size_t to) {
  std::string out;
  for (size_t i = from; i < to; ++i) out += (i > from ? "." : "") + parts[i];
  return out;
}

std::string forms_list() {
  std::string out;
  for (const auto& ns : kNamespaces) out += fmt::format("{}{}", out.empty() ? "" : ", ", ns.form);
  return out;
}

// Parses the inside of one {{ }} using kNamespaces. Returns the reference or an error reason.
Result<TemplateRef> parse_ref(std::string_view inner, std::string text) {
  TemplateRef ref;
  ref.text = std::move(text);
  if (inner.empty()) return Error{"empty template; expected one of " + forms_list()};
  std::vector<std::string> parts = split_dots(inner);
  std::vector<std::string> prefixes;
  bool known = false;
  for (const auto& ns : kNamespaces) {
    prefixes.emplace_back(ns.prefix);
    known = known || ns.prefix == parts[0];
  }
  if (!known)
    return Error{fmt::format("unknown namespace \"{}\"{}; expected one of {}", parts[0],
                             detail::did_you_mean(parts[0], prefixes), forms_list())};
  const TemplateNamespace* match = nullptr;
  if (parts[0] == "tasks") {
    if (parts.size() >= 4) {
      for (const auto& ns : kNamespaces)
        if (ns.prefix == "tasks" && ns.selector == parts[parts.size() - 2]) match = &ns;
    }
    if (!match) return Error{"expected tasks.NAME.outputs.KEY or tasks.NAME.best.KEY"};
    ref.name = join(parts, 1, parts.size() - 2);
    ref.key = parts.back();
  } else {
    for (const auto& ns : kNamespaces)
      if (ns.prefix == parts[0]) match = &ns;
    if (parts.size() < 2) return Error{fmt::format("expected {}", match->form)};
    ref.name = join(parts, 1, parts.size());
  }
  ref.kind = match->kind;
  for (const std::string* s : {&ref.name, &ref.key}) {
    if (s == &ref.key && ref.kind != RefKind::TaskOutput && ref.kind != RefKind::TaskBest) continue;
    if (detail::check_name(*s))
      return Error{
          fmt::format("\"{}\" is not a name in {} (filters and expressions are not "
                      "supported)",
                      *s, match->form)};
  }
  if (ref.kind == RefKind::RunField) {
    bool field = false;
    std::vector<std::string> fields;
    for (auto f : kRunFields) {
      fields.emplace_back(f);
      field = field || f == ref.name;
    }
    if (!field)
      return Error{
          fmt::format("unknown run field \"{}\"{}; run has id, logical_date, "
                      "data_interval_start, data_interval_end",
                      ref.name, detail::did_you_mean(ref.name, fields))};
  }
  return ref;
}

const json::value* lookup(const json::object& o, const std::string& key) {
  return o.if_contains(key);
}

Result<std::string> value_of(const TemplateRef& r, const TemplateContext& ctx) {
  auto missing = [&](const std::string& why) { return Error{r.text + ": " + why}; };
  switch (r.kind) {
    case RefKind::Param: {
      if (auto* v = lookup(ctx.params, r.name)) return render_value(*v);
      return missing(fmt::format("no value for param \"{}\"", r.name));
    }
    case RefKind::RunField: {
      const std::string* s = r.name == "id"                    ? &ctx.run.id
                             : r.name == "logical_date"        ? &ctx.run.logical_date
                             : r.name == "data_interval_start" ? &ctx.run.data_interval_start
                                                               : &ctx.run.data_interval_end;
      if (s->empty()) return missing(fmt::format("run.{} is not set for this run", r.name));
      return *s;
    }
    case RefKind::TaskOutput:
    case RefKind::TaskBest: {
      const auto& by_task = r.kind == RefKind::TaskOutput ? ctx.outputs : ctx.best;
      const char* what = r.kind == RefKind::TaskOutput ? "output" : "best value";
      auto it = by_task.find(r.name);
      if (it == by_task.end()) return missing(fmt::format("no {}s from task \"{}\"", what, r.name));
      if (auto* v = lookup(it->second, r.key)) return render_value(*v);
      return missing(fmt::format("task \"{}\" has no {} \"{}\"", r.name, what, r.key));
    }
    case RefKind::Trial: {
      if (auto* v = lookup(ctx.trial, r.name)) return render_value(*v);
      return missing(fmt::format("this trial has no value \"{}\"", r.name));
    }
  }
  return missing("unknown reference");
}

}  // namespace

TemplateScan scan_template(std::string_view text) {
  TemplateScan scan;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) {
      scan.pieces.push_back({std::string(text.substr(pos)), std::nullopt});
      break;
    }
    if (open > pos)
      scan.pieces.push_back({std::string(text.substr(pos, open - pos)), std::nullopt});
    size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) {
      std::string_view rest = text.substr(open);
      if (rest.size() > 40) rest = rest.substr(0, 40);
      scan.errors.push_back(fmt::format("unterminated template \"{}\": missing \"}}}}\"", rest));
      break;
    }
    std::string_view whole = text.substr(open, close + 2 - open);
    auto ref = parse_ref(trim(text.substr(open + 2, close - open - 2)), std::string(whole));
    if (ref.ok())
      scan.pieces.push_back({"", std::move(ref.value())});
    else
      scan.errors.push_back(fmt::format("{}: {}", whole, ref.error()));
    pos = close + 2;
  }
  return scan;
}

std::string render_value(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_double()) return fmt::format("{}", v.get_double());
  return json::serialize(v);
}

Result<std::string> render(std::string_view text, const TemplateContext& ctx) {
  if (!has_template(text)) return std::string(text);
  TemplateScan scan = scan_template(text);
  if (!scan.errors.empty()) return Error{scan.errors.front()};
  std::string out;
  for (const auto& piece : scan.pieces) {
    if (!piece.ref) {
      out += piece.literal;
      continue;
    }
    auto v = value_of(*piece.ref, ctx);
    if (!v.ok()) return v;
    out += *v;
  }
  return out;
}

Result<std::vector<std::string>> render_all(const std::vector<std::string>& texts,
                                            const TemplateContext& ctx) {
  std::vector<std::string> out;
  out.reserve(texts.size());
  for (const auto& t : texts) {
    auto r = render(t, ctx);
    if (!r.ok()) return Error{r.error()};
    out.push_back(std::move(*r));
  }
  return out;
}

}  // namespace ctflow::spec
