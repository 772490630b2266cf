#include "scheduler/spec/spec_external.hpp"

#include "scheduler/cron/cron.hpp"

namespace ctflow::spec::detail {

std::optional<hpo::SearchSpace> parse_space(const boost::json::value& v, const std::string& path,
                                            std::vector<std::string>& errors) {
  return hpo::parse_space(v, path, errors);
}

std::optional<std::string> check_cron(const std::string& expr) {
  auto r = cron::parse_cron(expr);
  if (r.ok()) return std::nullopt;
  return r.error();
}

std::optional<std::string> check_time_zone(const std::string& zone) {
  return cron::check_time_zone(zone);
}

}  // namespace ctflow::spec::detail
