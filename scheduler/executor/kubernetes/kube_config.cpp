// Reading in-cluster configuration and kubeconfig files (kube_config.hpp).
#include "scheduler/executor/kubernetes/kube_config.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <cstdlib>

#include "scheduler/common/json_util.hpp"
#include "scheduler/spec/yaml_json.hpp"

namespace ctflow::exec::k8s {
namespace {

namespace json = boost::json;

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// base64 (the kubeconfig's *-data fields).
std::optional<std::string> unbase64(std::string_view in) {
  static const std::string chars =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -8;
  for (char c : in) {
    if (c == '=' || c == '\n' || c == '\r' || c == ' ') continue;
    auto pos = chars.find(c);
    if (pos == std::string::npos) return std::nullopt;
    val = (val << 6) + static_cast<int>(pos);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((val >> bits) & 0xFF));
      bits -= 8;
    }
  }
  return out;
}

// "https://host:port[/]" -> host, port.
std::optional<std::string> split_server(const std::string& url, KubeConfig& c) {
  if (url.rfind("https://", 0) != 0) return "must be an https:// URL, got \"" + url + "\"";
  std::string rest = url.substr(8);
  if (auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  if (!rest.empty() && rest[0] == '[') {  // [IPv6]:port
    auto close = rest.find(']');
    if (close == std::string::npos) return "bad IPv6 address in \"" + url + "\"";
    c.host = rest.substr(1, close - 1);
    if (close + 1 < rest.size() && rest[close + 1] == ':') c.port = rest.substr(close + 2);
  } else if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    c.host = rest.substr(0, colon);
    c.port = rest.substr(colon + 1);
  } else {
    c.host = rest;
  }
  if (c.host.empty()) return "no host in \"" + url + "\"";
  return std::nullopt;
}

const json::object* named(const json::value& doc, const char* list, const std::string& name,
                          const char* field) {
  const json::object* o = doc.if_object();
  if (!o) return nullptr;
  const json::value* l = o->if_contains(list);
  if (!l || !l->is_array()) return nullptr;
  for (const auto& e : l->get_array()) {
    const json::object* eo = e.if_object();
    if (!eo) continue;
    const json::value* n = eo->if_contains("name");
    if (n && n->is_string() && n->get_string() == name) {
      const json::value* f = eo->if_contains(field);
      return f ? f->if_object() : nullptr;
    }
  }
  return nullptr;
}

std::string str(const json::object* o, const char* key) {
  if (!o) return "";
  const json::value* v = o->if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : "";
}

// The PEM from `<field>-data` (base64) or `<field>` (a file, relative to the kubeconfig).
Result<std::string> pem(const json::object* o, const std::string& field, const std::string& base,
                        const std::string& where) {
  if (auto data = str(o, (field + "-data").c_str()); !data.empty()) {
    auto d = unbase64(data);
    if (!d) return Error{fmt::format("{}: {}-data is not base64", where, field)};
    return *d;
  }
  std::string file = str(o, field.c_str());
  if (file.empty()) return std::string();
  if (file[0] != '/') file = base + "/" + file;
  auto text = read_file(file);
  if (!text) return Error{fmt::format("{}: {}: cannot read {}", where, field, file)};
  return *text;
}

}  // namespace

Result<std::string> KubeConfig::bearer() const {
  if (!token_file.empty()) {
    auto t = read_file(token_file);
    if (!t) return Error{"kubernetes: cannot read the token file " + token_file};
    return "Bearer " + trim(*t);
  }
  if (!token.empty()) return "Bearer " + token;
  return std::string();
}

Result<KubeConfig> in_cluster_config(const std::string& sa_dir) {
  KubeConfig c;
  c.source = "in-cluster";
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (!host || !*host)
    return Error{"kubernetes: in-cluster configuration needs KUBERNETES_SERVICE_HOST"};
  c.host = host;
  if (port && *port) c.port = port;
  c.token_file = sa_dir + "/token";
  if (!read_file(c.token_file)) return Error{"kubernetes: cannot read " + c.token_file};
  auto ca = read_file(sa_dir + "/ca.crt");
  if (!ca) return Error{"kubernetes: cannot read " + sa_dir + "/ca.crt"};
  c.ca_pem = *ca;
  if (auto ns = read_file(sa_dir + "/namespace")) c.namespace_ = trim(*ns);
  return c;
}

Result<KubeConfig> load_kubeconfig(const std::string& path) {
  auto text = read_file(path);
  if (!text) return Error{"kubeconfig " + path + ": cannot read the file"};
  std::vector<std::string> errors;
  auto doc = spec::detail::yaml_to_json(*text, errors);
  if (!doc) return Error{"kubeconfig " + path + ": " + (errors.empty() ? "not YAML" : errors[0])};
  KubeConfig c;
  c.source = path;
  std::string base = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  const json::object* root = doc->if_object();
  std::string current = str(root, "current-context");
  if (current.empty())
    return Error{"kubeconfig " + path +
                 ": no current context (set current-context, e.g. "
                 "kubectl config use-context NAME)"};
  const json::object* ctx = named(*doc, "contexts", current, "context");
  if (!ctx)
    return Error{"kubeconfig " + path + ": current context \"" + current + "\" is not in contexts"};
  std::string cluster_name = str(ctx, "cluster"), user_name = str(ctx, "user");
  if (auto ns = str(ctx, "namespace"); !ns.empty()) c.namespace_ = ns;
  const json::object* cluster = named(*doc, "clusters", cluster_name, "cluster");
  if (!cluster)
    return Error{"kubeconfig " + path + ": cluster \"" + cluster_name + "\" of context \"" +
                 current + "\" is not in clusters"};
  std::string where = "kubeconfig " + path + ": cluster \"" + cluster_name + "\"";
  if (auto why = split_server(str(cluster, "server"), c)) return Error{where + ": server " + *why};
  auto ca = pem(cluster, "certificate-authority", base, where);
  if (!ca) return Error{ca.error()};
  c.ca_pem = *ca;
  if (const json::value* v = cluster->if_contains("insecure-skip-tls-verify"))
    c.insecure = v->is_bool() && v->get_bool();
  if (const json::object* user = named(*doc, "users", user_name, "user")) {
    std::string uwhere = "kubeconfig " + path + ": user \"" + user_name + "\"";
    c.token = str(user, "token");
    c.token_file = str(user, "tokenFile");
    if (!c.token_file.empty() && c.token_file[0] != '/') c.token_file = base + "/" + c.token_file;
    auto cert = pem(user, "client-certificate", base, uwhere);
    if (!cert) return Error{cert.error()};
    auto key = pem(user, "client-key", base, uwhere);
    if (!key) return Error{key.error()};
    c.client_cert_pem = *cert;
    c.client_key_pem = *key;
    if (user->contains("exec") || user->contains("auth-provider"))
      if (c.token.empty() && c.token_file.empty() && c.client_cert_pem.empty())
        return Error{uwhere +
                     ": exec and auth-provider credentials are not supported; use a "
                     "token, tokenFile or client certificate"};
  } else if (!user_name.empty()) {
    return Error{"kubeconfig " + path + ": user \"" + user_name + "\" is not in users"};
  }
  return c;
}

Result<KubeConfig> resolve_config(const std::string& path) {
  if (!path.empty()) return load_kubeconfig(path);
  if (const char* env = std::getenv("KUBECONFIG"); env && *env) {
    std::string first(env);
    if (auto colon = first.find(':'); colon != std::string::npos) first.resize(colon);
    return load_kubeconfig(first);
  }
  if (const char* host = std::getenv("KUBERNETES_SERVICE_HOST"); host && *host)
    return in_cluster_config();
  const char* home = std::getenv("HOME");
  return load_kubeconfig(std::string(home ? home : "") + "/.kube/config");
}

}  // namespace ctflow::exec::k8s
