// Router::openapi(): the OpenAPI 3.0 document, generated from the route table.
#include "scheduler/api/http/router.hpp"

#include <algorithm>
#include <cctype>

namespace ctflow::http {

namespace json = boost::json;

namespace {

// "/api/v1/runs/{id}/tasks/{name}" -> "api_v1_runs_id_tasks_name"
std::string operation_id(const Route& r) {
  std::string id;
  for (char c : r.method)
    id.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  for (char c : r.pattern) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      id.push_back(c);
    } else if (!id.empty() && id.back() != '_') {
      id.push_back('_');
    }
  }
  while (!id.empty() && id.back() == '_') id.pop_back();
  return id;
}

// OpenAPI path templates have no multi-segment parameter: "{rest*}" is documented as "{rest}".
std::string openapi_path(std::string_view pattern) {
  std::string out(pattern);
  for (size_t p; (p = out.find("*}")) != std::string::npos;) out.erase(p, 1);
  return out;
}

std::string default_tag(std::string_view pattern) {
  std::string_view p = pattern;
  if (p.rfind("/api/v1/", 0) == 0)
    p.remove_prefix(8);
  else if (!p.empty())
    p.remove_prefix(1);
  std::string tag(p.substr(0, p.find('/')));
  return tag.empty() || tag.front() == '{' ? "default" : tag;
}

json::object error_ref() {
  return {{"$ref", "#/components/responses/Error"}};
}

json::object operation(const Route& r) {
  json::object op;
  op["operationId"] = operation_id(r);
  op["summary"] = r.summary;
  op["tags"] = json::array{r.tag.empty() ? default_tag(r.pattern) : r.tag};
  op["x-min-role"] = role_name(r.min_role.value_or(Role::None));

  json::array params;
  for (size_t pos = 0; (pos = r.pattern.find('{', pos)) != std::string::npos; ++pos) {
    size_t end = r.pattern.find('}', pos);
    std::string name = r.pattern.substr(pos + 1, end - pos - 1);
    if (!name.empty() && name.back() == '*') name.pop_back();
    params.push_back(json::object{
        {"name", name}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}});
  }
  for (const auto& q : r.query) {
    params.push_back(json::object{{"name", q.name},
                                  {"in", "query"},
                                  {"required", q.required},
                                  {"description", q.description},
                                  {"schema", {{"type", q.type}}}});
  }
  if (!params.empty()) op["parameters"] = std::move(params);

  if (!r.request_schema.is_null()) {
    op["requestBody"] = {{"required", true},
                         {"content", {{"application/json", {{"schema", r.request_schema}}}}}};
  }

  json::object ok{{"description", r.summary.empty() ? "OK" : r.summary}};
  if (r.streaming) {
    ok["content"] = {{"text/event-stream", {{"schema", {{"type", "string"}}}}}};
  } else if (r.success_status != 204) {
    json::value schema =
        r.response_schema.is_null() ? json::value{{"type", "object"}} : r.response_schema;
    ok["content"] = {{"application/json", {{"schema", schema}}}};
  }
  json::object responses;
  responses[std::to_string(r.success_status)] = std::move(ok);
  if (!r.request_schema.is_null() || !r.query.empty()) responses["400"] = error_ref();
  if (r.min_role != Role::None) {
    responses["401"] = error_ref();
    responses["403"] = error_ref();
  }
  if (r.pattern.find('{') != std::string::npos) responses["404"] = error_ref();
  responses["500"] = error_ref();
  op["responses"] = std::move(responses);

  if (r.min_role == Role::None) {
    op["security"] = json::array{};  // public: overrides the document-wide bearer requirement
  }
  return op;
}

}  // namespace

json::value Router::openapi() const {
  json::object paths;
  for (const Route& r : routes_) {
    std::string method = r.method;
    std::transform(method.begin(), method.end(), method.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    json::value& item = paths[openapi_path(r.pattern)];
    if (!item.is_object()) item = json::object{};
    item.as_object()[method] = operation(r);
  }

  json::object error_schema{{"type", "object"},
                            {"required", {"error"}},
                            {"properties",
                             {{"error",
                               {{"type", "object"},
                                {"required", {"code", "message", "path"}},
                                {"properties",
                                 {{"code", {{"type", "string"}, {"example", "not_found"}}},
                                  {"message", {{"type", "string"}}},
                                  {"path", {{"type", "string"}}}}}}}}}};

  json::object doc;
  doc["openapi"] = "3.0.3";
  doc["info"] = {{"title", options_.title}, {"version", options_.version}};
  doc["paths"] = std::move(paths);
  doc["components"] = {
      {"securitySchemes", {{"bearerAuth", {{"type", "http"}, {"scheme", "bearer"}}}}},
      {"schemas", {{"Error", std::move(error_schema)}}},
      {"responses",
       {{"Error",
         {{"description", "An error: {\"error\": {\"code\", \"message\", \"path\"}}"},
          {"content",
           {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}}}}}};
  doc["security"] = json::array{json::object{{"bearerAuth", json::array{}}}};
  return doc;
}

}  // namespace ctflow::http
