// hpo-ask: a test-only stand-in for `ctflow hpo ask` (same contract, see scheduler/hpo/ask.hpp),
// so the HPO benchmark and scripts can run before/without the full CLI.
#include <iostream>

#include "scheduler/hpo/ask.hpp"

int main() {
  return ctflow::hpo::hpo_ask_main(std::cin, std::cout, std::cerr);
}
