#pragma once
// The spec validator's only calls into the hpo and cron modules, kept in one place.
// Internal to the spec module.
#include <boost/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "scheduler/hpo/space.hpp"

namespace ctflow::spec::detail {

// hpo::parse_space: appends "PATH.NAME.FIELD: reason" errors; nullopt if there was any.
std::optional<hpo::SearchSpace> parse_space(const boost::json::value& v, const std::string& path,
                                            std::vector<std::string>& errors);

// cron::parse_cron: nullopt if `expr` is valid, else the reason.
std::optional<std::string> check_cron(const std::string& expr);

// cron::check_time_zone: nullopt if `zone` is a known IANA time zone, else the reason.
std::optional<std::string> check_time_zone(const std::string& zone);

}  // namespace ctflow::spec::detail
