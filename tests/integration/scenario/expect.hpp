#pragma once
// Checks what a scenario left (its runs' final rows, the files its tasks wrote in the scratch
// folder) against the case's expected outcome (case.hpp; the format is documented in
// tests/testdata/runs/README.md). Used from one thread. Errors: database errors throw pqxx
// exceptions; differences from the expected outcome are returned, each a sentence.
#include <pqxx/pqxx>

#include <string>
#include <vector>

#include "tests/integration/scenario/case.hpp"

namespace ctflow::it::scenario {

// `run_ids`: the database id of each of the case's runs, in the case's order.
std::vector<std::string> check_outcome(pqxx::connection& db, const Case& c,
                                       const std::vector<std::string>& run_ids,
                                       const std::string& scratch);

}  // namespace ctflow::it::scenario
