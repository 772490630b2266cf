// Reading a `k8s:` block (defaults.k8s, tasks[i].k8s): the settings of a task's batch/v1 Job,
// checked against Kubernetes' own rules (quantities, label keys and values, DNS names) so that a
// mistake is a spec error with its path, not a 422 from the API server at run time.
#include <fmt/format.h>

#include <regex>

#include "scheduler/spec/parse_internal.hpp"

namespace ctflow::spec::detail {
namespace {

namespace json = boost::json;

// resource.Quantity: a decimal number with an optional binary (Ki..Ei), decimal (n u m k M G T P
// E) or exponent suffix.
bool valid_quantity(const std::string& s) {
  static const std::regex re(
      R"(^\+?([0-9]+(\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$)");
  return s.size() <= 64 && std::regex_match(s, re);
}

// A label name or value segment: at most 63 of [A-Za-z0-9_.-], alphanumeric at both ends.
bool valid_label_part(const std::string& s, bool allow_empty) {
  static const std::regex re(R"(^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$)");
  if (s.empty()) return allow_empty;
  return s.size() <= 63 && std::regex_match(s, re);
}

// RFC 1123 subdomain: lowercase alphanumerics, '-' and '.', at most 253, alphanumeric ends.
bool valid_dns_subdomain(const std::string& s) {
  static const std::regex re(R"(^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$)");
  return !s.empty() && s.size() <= 253 && std::regex_match(s, re);
}

// A label key: [prefix/]name, the prefix a DNS subdomain.
bool valid_label_key(const std::string& s) {
  auto slash = s.find('/');
  if (slash == std::string::npos) return valid_label_part(s, false);
  return valid_dns_subdomain(s.substr(0, slash)) && valid_label_part(s.substr(slash + 1), false);
}

// A map of strings (numbers and booleans as written), each entry checked by `check` (returns
// the reason when invalid).
template <class Check>
void read_string_map(const json::value& v, const std::string& path, Errors& errors,
                     std::map<std::string, std::string>& out, Check check) {
  const json::object* o = v.if_object();
  if (!o) {
    errors.push_back(fmt::format("{}: expected a mapping, got {}", path, describe(v)));
    return;
  }
  for (const auto& kv : *o) {
    std::string key(kv.key()), at = field_path(path, key);
    auto text = scalar_text(kv.value());
    if (!text) {
      errors.push_back(fmt::format("{}: expected a string, got {}", at, describe(kv.value())));
      continue;
    }
    if (auto why = check(key, *text)) {
      errors.push_back(fmt::format("{}: {}", at, *why));
      continue;
    }
    out[key] = *text;
  }
}

std::optional<std::string> check_quantity(const std::string& name, const std::string& q) {
  static const std::regex re(
      R"(^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$)");
  if (name.size() > 253 || !std::regex_match(name, re))
    return fmt::format("\"{}\" is not a resource name (cpu, memory, nvidia.com/gpu, ...)", name);
  if (!valid_quantity(q))
    return fmt::format("\"{}\" is not a quantity (such as 500m, 2, 64Mi, 1Gi)", q);
  return std::nullopt;
}

void read_resources(const json::value& v, const std::string& path, K8sSpec& k, Errors& errors) {
  ObjectReader r(v, path, errors, {"requests", "limits"});
  if (const json::value* q = r.get("requests"))
    read_string_map(*q, r.path("requests"), errors, k.requests, check_quantity);
  if (const json::value* q = r.get("limits"))
    read_string_map(*q, r.path("limits"), errors, k.limits, check_quantity);
}

std::vector<Toleration> read_tolerations(const json::value& v, const std::string& path,
                                         Errors& errors) {
  std::vector<Toleration> out;
  const json::array* a = v.if_array();
  if (!a) {
    errors.push_back(fmt::format("{}: expected a list of tolerations, got {}", path, describe(v)));
    return out;
  }
  for (size_t i = 0; i < a->size(); ++i) {
    ObjectReader r((*a)[i], index_path(path, i), errors,
                   {"key", "operator", "value", "effect", "tolerationSeconds"});
    if (!r.is_object()) continue;
    Toleration t;
    t.key = r.str("key").value_or("");
    if (!t.key.empty() && !valid_label_key(t.key))
      r.fail("key", fmt::format("\"{}\" is not a label key", t.key));
    t.op = r.one_of("operator", {"Exists", "Equal"}).value_or("");
    t.value = r.str("value").value_or("");
    if (t.op == "Exists" && !t.value.empty())
      r.fail("value", "must be empty when operator is Exists");
    if (!valid_label_part(t.value, true))
      r.fail("value", fmt::format("\"{}\" is not a label value", t.value));
    t.effect = r.one_of("effect", {"NoSchedule", "PreferNoSchedule", "NoExecute"}).value_or("");
    if (auto s = r.integer("tolerationSeconds", 0)) {
      if (t.effect != "NoExecute") r.fail("tolerationSeconds", "only with effect NoExecute");
      t.seconds = *s;
    }
    if (t.key.empty() && t.op != "Exists")
      r.fail("key", "required unless operator is Exists (which then matches every taint)");
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace

K8sSpec read_k8s(const json::value& v, const std::string& path, K8sSpec base, Errors& errors) {
  K8sSpec k = std::move(base);
  ObjectReader r(v, path, errors,
                 {"image", "resources", "nodeSelector", "tolerations", "serviceAccountName",
                  "ttlSecondsAfterFinished"});
  if (!r.is_object()) return k;
  if (auto image = r.str("image")) {
    bool bad = image->empty() || image->size() > 512 || (*image)[0] == '-';
    for (char c : *image) bad = bad || static_cast<unsigned char>(c) <= ' ';
    if (bad)
      r.fail("image", fmt::format("\"{}\" is not an image reference (such as "
                                  "registry.example.com/ctflow-task:1.0 or NAME@sha256:...)",
                                  *image));
    else
      k.image = *image;
  }
  if (const json::value* res = r.get("resources"))
    read_resources(*res, r.path("resources"), k, errors);
  if (const json::value* ns = r.get("nodeSelector"))
    read_string_map(
        *ns, r.path("nodeSelector"), errors, k.node_selector,
        [](const std::string& key, const std::string& value) -> std::optional<std::string> {
          if (!valid_label_key(key)) return fmt::format("\"{}\" is not a label key", key);
          if (!valid_label_part(value, true))
            return fmt::format(
                "\"{}\" is not a label value (at most 63 of "
                "[A-Za-z0-9_.-], alphanumeric at both ends)",
                value);
          return std::nullopt;
        });
  if (const json::value* t = r.get("tolerations"))
    k.tolerations = read_tolerations(*t, r.path("tolerations"), errors);
  if (auto sa = r.str("serviceAccountName")) {
    if (!valid_dns_subdomain(*sa))
      r.fail("serviceAccountName",
             fmt::format("\"{}\" is not a DNS subdomain (lowercase letters, digits, '-' and '.')",
                         *sa));
    else
      k.service_account = *sa;
  }
  if (auto ttl = r.integer("ttlSecondsAfterFinished", 0)) k.ttl_seconds = *ttl;
  return k;
}

}  // namespace ctflow::spec::detail
