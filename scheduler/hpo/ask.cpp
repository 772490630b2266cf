#include "scheduler/hpo/ask.hpp"

#include <fmt/format.h>

#include <iostream>
#include <iterator>

namespace ctflow::hpo {
namespace json = boost::json;

namespace {

std::optional<double> as_number(const json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  if (v.is_double()) return v.get_double();
  return std::nullopt;
}

Result<TrialRecord> parse_trial(const json::value& v, const std::string& p) {
  if (!v.is_object()) return Error{p + ": must be an object with \"params\""};
  const auto& o = v.get_object();
  for (const auto& kv : o)
    if (kv.key() != "params" && kv.key() != "value" && kv.key() != "state")
      return Error{fmt::format("{}.{}: unknown field (expected params, value, state)", p,
                               shown_key(kv.key()))};
  TrialRecord t;
  const json::value* params = o.if_contains("params");
  if (!params || !params->is_object()) return Error{p + ".params: required, an object"};
  t.params = params->get_object();
  if (const json::value* v = o.if_contains("value"); v && !v->is_null()) {
    auto x = as_number(*v);
    if (!x) return Error{p + ".value: must be a number"};
    t.value = *x;
  }
  t.state = t.value ? TrialState::Complete : TrialState::Pending;
  if (const json::value* s = o.if_contains("state")) {
    std::string st = s->is_string() ? std::string(s->get_string()) : "";
    if (st == "pending")
      t.state = TrialState::Pending;
    else if (st == "complete")
      t.state = TrialState::Complete;
    else if (st == "failed")
      t.state = TrialState::Failed;
    else if (st == "pruned")
      t.state = TrialState::Pruned;
    else
      return Error{p + ".state: must be one of pending, complete, failed, pruned"};
    if (t.state == TrialState::Pending && t.value)
      return Error{p + ".value: a pending trial has no value"};
  }
  return t;
}

}  // namespace

Result<AskRequest> parse_ask_request(const std::string& text) {
  boost::system::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec) return Error{"request: not valid JSON (" + ec.message() + ")"};
  if (!doc.is_object()) return Error{"request: must be a JSON object"};
  const auto& o = doc.get_object();
  for (const auto& kv : o) {
    std::string k(kv.key());
    if (k != "algorithm" && k != "seed" && k != "objective" && k != "space" && k != "trials" &&
        k != "count")
      return Error{shown_key(k) +
                   ": unknown field (expected algorithm, seed, objective, space, trials, count)"};
  }
  AskRequest r;
  const json::value* alg = o.if_contains("algorithm");
  if (!alg) return Error{"algorithm: required (grid, random or bayes)"};
  auto a = alg->is_string() ? parse_algorithm(alg->get_string()) : std::nullopt;
  if (!a)
    return Error{fmt::format("algorithm: must be one of grid, random, bayes (got {})",
                             json::serialize(*alg))};
  r.config.algorithm = *a;
  if (const json::value* s = o.if_contains("seed")) {
    if (s->is_int64() && s->get_int64() >= 0)
      r.config.seed = static_cast<uint64_t>(s->get_int64());
    else if (s->is_uint64())
      r.config.seed = s->get_uint64();
    else
      return Error{"seed: must be an integer >= 0"};
  }
  if (const json::value* ob = o.if_contains("objective")) {
    if (!ob->is_object()) return Error{"objective: must be an object with \"goal\""};
    for (const auto& kv : ob->get_object())
      if (kv.key() != "goal" && kv.key() != "metric")
        return Error{fmt::format("objective.{}: unknown field (expected goal, metric)",
                                 shown_key(kv.key()))};
    if (const json::value* g = ob->get_object().if_contains("goal")) {
      auto goal = g->is_string() ? parse_goal(g->get_string()) : std::nullopt;
      if (!goal) return Error{"objective.goal: must be minimize or maximize"};
      r.config.goal = *goal;
    }
  }
  const json::value* space = o.if_contains("space");
  if (!space) return Error{"space: required"};
  std::vector<std::string> errors;
  auto sp = parse_space(*space, "space", errors);
  if (sp) check_space_for(r.config.algorithm, *sp, "space", errors);
  if (!errors.empty()) return Error{errors.front()};
  r.config.space = std::move(*sp);
  if (const json::value* c = o.if_contains("count")) {
    if (!c->is_int64() || c->get_int64() < 1 || c->get_int64() > 1000)
      return Error{"count: must be an integer between 1 and 1000"};
    r.count = static_cast<int>(c->get_int64());
  }
  if (const json::value* ts = o.if_contains("trials")) {
    if (!ts->is_array()) return Error{"trials: must be an array"};
    const auto& arr = ts->get_array();
    for (size_t i = 0; i < arr.size(); ++i) {
      auto t = parse_trial(arr[i], fmt::format("trials[{}]", i));
      if (!t) return Error{t.error()};
      r.trials.push_back(std::move(*t));
    }
  }
  return r;
}

std::string format_suggestions(const Suggestions& s) {
  json::object doc;
  json::array arr;
  for (const auto& sg : s.suggestions) arr.push_back(json::object{{"params", sg.params}});
  doc["suggestions"] = std::move(arr);
  if (s.exhausted) doc["exhausted"] = true;
  return json::serialize(doc);
}

int hpo_ask_main(std::istream& in, std::ostream& out, std::ostream& err) {
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto req = parse_ask_request(text);
  if (!req) {
    err << req.error() << "\n";
    return 2;
  }
  auto res = suggest(req->config, req->trials, req->count);
  if (!res) {
    err << res.error() << "\n";
    return 2;
  }
  out << format_suggestions(*res) << "\n";
  return 0;
}

}  // namespace ctflow::hpo
