#pragma once
// Standard optimisation test functions for the HPO benchmark (all minimised), with their
// published domains and global minima.
#include <string>
#include <vector>

namespace ctflow::hpo::bench {

struct TestFunction {
  std::string name;
  std::vector<double> lower, upper;  // box domain, one entry per dimension
  double minimum;                    // known global minimum value
  double (*f)(const std::vector<double>& x);
};

// branin (2-d), hartmann6 (6-d), rosenbrock4 (4-d, [-5,10]), ackley5 (5-d, [-32.768,32.768]).
const std::vector<TestFunction>& test_functions();

}  // namespace ctflow::hpo::bench
