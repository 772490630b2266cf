// Building a task attempt's batch/v1 Job (job_builder.hpp).
#include "scheduler/executor/kubernetes/job_builder.hpp"

#include <fmt/format.h>

#include <cctype>
#include <regex>

namespace ctflow::exec::k8s {
namespace {

namespace json = boost::json;

json::object string_map(const std::map<std::string, std::string>& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

bool valid_secret_name(const std::string& s) {
  static const std::regex re(R"(^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$)");
  return s.size() <= 253 && std::regex_match(s, re);
}

void yaml_scalar(const json::value& v, std::string& out) {
  if (v.is_string())
    out += json::serialize(v);  // a JSON string is a valid double-quoted YAML scalar
  else if (v.is_null())
    out += "null";
  else
    out += json::serialize(v);
}

void yaml(const json::value& v, int indent, std::string& out) {
  std::string pad(static_cast<size_t>(indent), ' ');
  if (const json::object* o = v.if_object()) {
    for (const auto& kv : *o) {
      out += pad + std::string(kv.key()) + ":";
      const json::value& c = kv.value();
      if (c.is_object() && !c.get_object().empty()) {
        out += "\n";
        yaml(c, indent + 2, out);
      } else if (c.is_array() && !c.get_array().empty()) {
        out += "\n";
        yaml(c, indent, out);
      } else if (c.is_object()) {
        out += " {}\n";
      } else if (c.is_array()) {
        out += " []\n";
      } else {
        out += " ";
        yaml_scalar(c, out);
        out += "\n";
      }
    }
  } else if (const json::array* a = v.if_array()) {
    for (const auto& e : *a) {
      if (e.is_object() && !e.get_object().empty()) {
        std::string inner;
        yaml(e, indent + 2, inner);
        out += pad + "- " + inner.substr(static_cast<size_t>(indent) + 2);
      } else if (e.is_array() && !e.get_array().empty()) {
        out += pad + "-\n";
        yaml(e, indent + 2, out);
      } else {
        out += pad + "- ";
        if (e.is_object())
          out += "{}";
        else if (e.is_array())
          out += "[]";
        else
          yaml_scalar(e, out);
        out += "\n";
      }
    }
  } else {
    out += pad;
    yaml_scalar(v, out);
    out += "\n";
  }
}

}  // namespace

std::string label_value(const std::string& s) {
  std::string out;
  for (char c : s) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    out += ok ? c : '-';
    if (out.size() == 63) break;
  }
  while (!out.empty() && !std::isalnum(static_cast<unsigned char>(out.back()))) out.pop_back();
  while (!out.empty() && !std::isalnum(static_cast<unsigned char>(out.front()))) out.erase(0, 1);
  return out;
}

std::string job_name(const std::string& key, const std::string& task) {
  std::string name = "ctflow-" + key;
  std::string slug;
  for (char c : task) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    slug += std::isalnum(static_cast<unsigned char>(l)) ? l : '-';
  }
  if (!slug.empty() && name.size() + 1 < 63) name += "-" + slug.substr(0, 62 - name.size());
  while (!name.empty() && name.back() == '-') name.pop_back();
  return name;
}

std::optional<std::string> check_volume(const std::string& v) {
  static const std::regex claim(R"(^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$)");
  if (v.rfind("pvc:", 0) == 0) {
    if (!std::regex_match(v.substr(4), claim))
      return "pvc:NAME needs a PersistentVolumeClaim name (lowercase DNS name), got \"" + v + "\"";
    return std::nullopt;
  }
  if (v.rfind("hostpath:", 0) == 0) {
    if (v.size() < 10 || v[9] != '/')
      return "hostpath:PATH needs an absolute path, got \"" + v + "\"";
    return std::nullopt;
  }
  return "expected pvc:CLAIM or hostpath:/PATH, got \"" + v + "\"";
}

Result<json::object> build_job(const SpawnRequest& req, const JobSettings& s,
                               const std::string& dir) {
  const Placement& where = req.placement;
  const spec::K8sSpec& k = where.k8s;
  std::string image = k.image.empty() ? s.default_image : k.image;
  if (image.empty())
    return Error{
        "k8s.image: no image for this task (set k8s.image in the task or defaults, or "
        "start the server with --k8s-image)"};
  if (req.argv.empty()) return Error{"run: an empty command"};
  json::array env;
  for (const auto& e : req.env) {
    auto eq = e.find('=');
    if (eq == std::string::npos) continue;
    env.push_back(json::object{{"name", e.substr(0, eq)}, {"value", e.substr(eq + 1)}});
  }
  for (const auto& [name, secret] : where.secrets) {
    if (!valid_secret_name(secret))
      return Error{
          fmt::format("env.{}: secret \"{}\" is not a Kubernetes Secret name (lowercase "
                      "letters, digits, '-' and '.')",
                      name, secret)};
    env.push_back(json::object{
        {"name", name}, {"valueFrom", {{"secretKeyRef", {{"name", secret}, {"key", "value"}}}}}});
  }
  json::array command;
  for (const auto& a : req.argv) command.emplace_back(a);
  json::object container{
      {"name", "task"},
      {"image", image},
      {"command", std::move(command)},
      {"workingDir", dir + "/work"},
      {"env", std::move(env)},
      {"securityContext",
       {{"allowPrivilegeEscalation", false}, {"capabilities", {{"drop", json::array{"ALL"}}}}}}};
  json::object resources;
  if (!k.requests.empty()) resources["requests"] = string_map(k.requests);
  if (!k.limits.empty()) resources["limits"] = string_map(k.limits);
  if (!resources.empty()) container["resources"] = std::move(resources);
  json::object pod{{"restartPolicy", "Never"},
                   {"securityContext", {{"seccompProfile", {{"type", "RuntimeDefault"}}}}}};
  if (!s.volume.empty()) {
    container["volumeMounts"] =
        json::array{json::object{{"name", "ctflow-data"}, {"mountPath", s.data_dir}}};
    json::object vol{{"name", "ctflow-data"}};
    if (s.volume.rfind("pvc:", 0) == 0)
      vol["persistentVolumeClaim"] = {{"claimName", s.volume.substr(4)}};
    else
      vol["hostPath"] = {{"path", s.volume.substr(9)}, {"type", "DirectoryOrCreate"}};
    pod["volumes"] = json::array{std::move(vol)};
  }
  pod["containers"] = json::array{std::move(container)};
  std::string sa = k.service_account.empty() ? s.service_account : k.service_account;
  if (!sa.empty()) pod["serviceAccountName"] = sa;
  if (!k.node_selector.empty()) pod["nodeSelector"] = string_map(k.node_selector);
  if (!k.tolerations.empty()) {
    json::array tol;
    for (const auto& t : k.tolerations) {
      json::object o;
      if (!t.key.empty()) o["key"] = t.key;
      if (!t.op.empty()) o["operator"] = t.op;
      if (!t.value.empty()) o["value"] = t.value;
      if (!t.effect.empty()) o["effect"] = t.effect;
      if (t.seconds) o["tolerationSeconds"] = *t.seconds;
      tol.emplace_back(std::move(o));
    }
    pod["tolerations"] = std::move(tol);
  }
  json::object labels{{kManagedBy, "ctflow"},
                      {"ctflow.io/run", std::to_string(where.run_id)},
                      {"ctflow.io/task", label_value(where.task)},
                      {"ctflow.io/attempt", std::to_string(where.attempt)},
                      {"ctflow.io/pipeline", label_value(where.pipeline)}};
  json::object annotations{{"ctflow.io/task", where.task},
                           {"ctflow.io/pipeline", where.pipeline},
                           {"ctflow.io/attempt-key", req.key}};
  json::object spec{{"backoffLimit", 0},
                    {"ttlSecondsAfterFinished", k.ttl_seconds ? *k.ttl_seconds : s.default_ttl},
                    {"template", {{"metadata", {{"labels", labels}}}, {"spec", std::move(pod)}}}};
  if (where.timeout) {
    auto secs = (where.timeout->count() + 999) / 1000;
    spec["activeDeadlineSeconds"] = std::max<int64_t>(1, secs);
  }
  return json::object{{"apiVersion", "batch/v1"},
                      {"kind", "Job"},
                      {"metadata",
                       {{"name", job_name(req.key, where.task)},
                        {"namespace", s.namespace_},
                        {"labels", labels},
                        {"annotations", std::move(annotations)}}},
                      {"spec", std::move(spec)}};
}

std::string to_yaml(const json::value& v) {
  std::string out;
  yaml(v, 0, out);
  return out;
}

}  // namespace ctflow::exec::k8s
