#pragma once
// Pulling a model version's artifacts from the control plane over its API, each checked against
// its digest (sha256 of the content): `ctflow models pull` and ctflow-serve's cache share this.
// Blocking; any thread, one Client per thread. Errors are one line naming the model, version,
// artifact or digest and the reason.
#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

#include "scheduler/cli/client.hpp"
#include "scheduler/common/result.hpp"

namespace ctflow::cli {

// "NAME", "NAME@ALIAS" (default alias production) or "NAME:VERSION".
struct VersionSpec {
  std::string model;
  std::string alias;  // "" when a version number was given
  std::optional<int64_t> version;
};
Result<VersionSpec> parse_version_spec(const std::string& spec);

// What an alias points at: its version and, when it carries one, the canary version and share.
struct AliasTarget {
  int64_t version = 0;
  int64_t canary_version = 0;  // 0: no canary
  double canary_percent = 0;
};
// Reads GET /api/v1/models/NAME and finds `alias` there ("aliases": [{"alias", "version",
// "canary": {"version": M, "percent": P} | null}]; the older {ALIAS: N} too).
Result<AliasTarget> resolve_alias(Client& c, const std::string& model, const std::string& alias);

// GET /api/v1/models/NAME/versions/V.
Result<boost::json::object> get_version(Client& c, const std::string& model, int64_t version);

// Downloads artifact `digest` to `dest` (through dest + ".part", renamed when the sha256 of the
// bytes equals the digest). A mismatch leaves nothing at `dest`.
Result<bool> fetch_artifact(Client& c, const std::string& digest, const std::string& dest);

// The artifacts of `version` (its "artifacts" object) with their digests: {name: digest}.
// Errors name an artifact without a digest or with a name outside [A-Za-z0-9_.-]{1,64}.
Result<std::vector<std::pair<std::string, std::string>>> version_artifacts(
    const boost::json::object& version);

// `ctflow models pull`: every artifact of the version into `dir` (created), named by
// pulled_file_name(), plus version.json ({"model", "version", "artifacts": {name: {"digest",
// "file"}}}). Returns that document.
Result<boost::json::object> pull_version(Client& c, const VersionSpec& spec,
                                         const std::string& dir);

}  // namespace ctflow::cli
