#include "scheduler/cli/pull.hpp"

#include <charconv>
#include <filesystem>
#include <fstream>

#include "scheduler/common/artifact_names.hpp"
#include "scheduler/common/sha256.hpp"

namespace ctflow::cli {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

bool valid_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'))
      return false;
  return true;
}

Result<json::object> get_object(Client& c, const std::string& target) {
  auto r = c.request("GET", target);
  if (!r) return Error{r.error()};
  if (r->status != 200)
    return Error{"GET " + target + ": HTTP " + std::to_string(r->status) + ": " + error_text(*r)};
  boost::system::error_code ec;
  json::value v = json::parse(r->body, ec);
  if (ec || !v.is_object()) return Error{"GET " + target + ": the answer is not a JSON object"};
  return v.get_object();
}

}  // namespace

Result<VersionSpec> parse_version_spec(const std::string& spec) {
  VersionSpec out;
  const auto at = spec.find('@'), colon = spec.find(':');
  if (at != std::string::npos && colon != std::string::npos)
    return Error{"model " + spec + ": give NAME@ALIAS or NAME:VERSION, not both"};
  out.model = spec.substr(0, std::min(at, colon));
  if (!valid_name(out.model)) return Error{"model \"" + out.model + "\": not a model name"};
  if (colon != std::string::npos) {
    const std::string v = spec.substr(colon + 1);
    int64_t n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || ec != std::errc() || p != v.data() + v.size() || n < 1)
      return Error{"model " + spec + ": version \"" + v + "\" is not a version number"};
    out.version = n;
    return out;
  }
  out.alias = at == std::string::npos ? "production" : spec.substr(at + 1);
  if (!valid_name(out.alias))
    return Error{"model " + spec + ": \"" + out.alias + "\" is not an alias"};
  return out;
}

Result<AliasTarget> resolve_alias(Client& c, const std::string& model, const std::string& alias) {
  auto m = get_object(c, "/api/v1/models/" + model);
  if (!m) return Error{m.error()};
  const json::value* aliases = m->if_contains("aliases");
  const json::value* a = nullptr;
  if (aliases && aliases->is_object()) a = aliases->get_object().if_contains(alias);
  if (aliases && aliases->is_array())
    for (const auto& x : aliases->get_array()) {
      const json::value* name = x.is_object() ? x.get_object().if_contains("alias") : nullptr;
      if (name && name->is_string() && name->get_string() == alias) a = &x;
    }
  if (!a) return Error{"model " + model + " has no alias " + alias};
  AliasTarget t;
  if (a->is_int64()) {
    t.version = a->get_int64();
  } else if (a->is_object()) {
    const json::value* v = a->get_object().if_contains("version");
    if (v && v->is_int64()) t.version = v->get_int64();
    const json::value* cn = a->get_object().if_contains("canary");
    if (cn && cn->is_object()) {
      const json::value* cv = cn->get_object().if_contains("version");
      const json::value* cp = cn->get_object().if_contains("percent");
      if (cv && cv->is_int64() && cp && cp->is_number()) {
        t.canary_version = cv->get_int64();
        t.canary_percent = cp->to_number<double>();
      }
    }
  }
  if (t.version < 1) return Error{"model " + model + ": alias " + alias + " has no version"};
  return t;
}

Result<json::object> get_version(Client& c, const std::string& model, int64_t version) {
  return get_object(c, "/api/v1/models/" + model + "/versions/" + std::to_string(version));
}

Result<bool> fetch_artifact(Client& c, const std::string& digest, const std::string& dest) {
  const std::string target = "/api/v1/artifacts/" + digest + "/content";
  auto r = c.request("GET", target);
  if (!r) return Error{"artifact " + digest + ": " + r.error()};
  if (r->status != 200)
    return Error{"artifact " + digest + ": HTTP " + std::to_string(r->status) + ": " +
                 error_text(*r)};
  std::string want = digest.rfind("sha256:", 0) == 0 ? digest.substr(7) : digest;
  const std::string got = sha256_hex(r->body);
  if (got != want)
    return Error{"artifact " + digest + ": the downloaded bytes have digest " + got +
                 " (corrupted in transit or in the store)"};
  const std::string part = dest + ".part";
  {
    std::ofstream out(part, std::ios::binary | std::ios::trunc);
    out.write(r->body.data(), static_cast<std::streamsize>(r->body.size()));
    if (!out.flush()) return Error{"artifact " + digest + ": cannot write " + part};
  }
  std::error_code ec;
  fs::rename(part, dest, ec);
  if (ec) return Error{"artifact " + digest + ": cannot rename to " + dest + ": " + ec.message()};
  return true;
}

Result<std::vector<std::pair<std::string, std::string>>> version_artifacts(
    const json::object& version) {
  std::vector<std::pair<std::string, std::string>> out;
  const json::value* arts = version.if_contains("artifacts");
  if (!arts || !arts->is_object()) return Error{"the version has no artifacts"};
  for (const auto& [key, value] : arts->get_object()) {
    std::string name(key);
    if (auto slash = name.rfind('/'); slash != std::string::npos) name = name.substr(slash + 1);
    if (!valid_name(name)) return Error{"artifact \"" + std::string(key) + "\": not a safe name"};
    const json::value* d = value.is_object() ? value.get_object().if_contains("digest") : nullptr;
    if (!d || !d->is_string() || d->get_string().empty())
      return Error{"artifact " + name + " has no digest"};
    out.emplace_back(name, std::string(d->get_string()));
  }
  return out;
}

Result<json::object> pull_version(Client& c, const VersionSpec& spec, const std::string& dir) {
  int64_t version = spec.version.value_or(0);
  if (!spec.version) {
    auto t = resolve_alias(c, spec.model, spec.alias);
    if (!t) return Error{t.error()};
    version = t->version;
  }
  auto v = get_version(c, spec.model, version);
  if (!v) return Error{v.error()};
  auto arts = version_artifacts(*v);
  if (!arts)
    return Error{"model " + spec.model + " version " + std::to_string(version) + ": " +
                 arts.error()};
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error{"directory " + dir + ": " + ec.message()};
  json::object files;
  for (const auto& [name, digest] : *arts) {
    const std::string file = pulled_file_name(name);
    if (auto f = fetch_artifact(c, digest, (fs::path(dir) / file).string()); !f)
      return Error{"model " + spec.model + " version " + std::to_string(version) + ": " +
                   f.error()};
    files[name] = json::object{{"digest", digest}, {"file", file}};
  }
  json::object doc{{"model", spec.model}, {"version", version}, {"artifacts", std::move(files)}};
  std::ofstream out((fs::path(dir) / "version.json").string(), std::ios::trunc);
  out << json::serialize(doc) << "\n";
  if (!out.flush()) return Error{"directory " + dir + ": cannot write version.json"};
  return doc;
}

}  // namespace ctflow::cli
