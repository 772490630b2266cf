// hpo-bench: drives an `hpo ask` command (argv after `--`, e.g. build/ctflow hpo ask) in a loop on
// the test functions, one fresh process per suggestion exactly as a script would, and prints the
// median simple regret and milliseconds per suggestion next to the Optuna 3.1 numbers of issue 6.
//
//   hpo-bench [--budget 50] [--seeds 20] [--algorithm bayes] [--only NAME] -- CMD [ARGS...]
// Exit code: 0 if every function beat Optuna's best and the median suggestion took < 50 ms at
// the end of the budget, 1 otherwise, 2 on a failed ask.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "functions.hpp"

namespace json = boost::json;
using ctflow::hpo::bench::TestFunction;

namespace {

// Runs argv with `input` on stdin; returns stdout, or nullopt if it exited non-zero. Adds the
// child's CPU time (user + system, ms) to *cpu_ms: unlike wall time it does not grow when other
// jobs share the machine.
std::optional<std::string> run(const std::vector<std::string>& argv, const std::string& input,
                               double* cpu_ms) {
  int in[2], out[2];
  if (pipe(in) != 0 || pipe(out) != 0) return std::nullopt;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    close(in[0]), close(in[1]), close(out[0]), close(out[1]);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  size_t off = 0;
  while (off < input.size()) {
    ssize_t n = write(in[1], input.data() + off, input.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  close(in[1]);
  std::string result;
  char buf[65536];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof buf)) > 0) result.append(buf, static_cast<size_t>(n));
  close(out[0]);
  int status = 0;
  struct rusage ru {};
  wait4(pid, &status, 0, &ru);
  *cpu_ms = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
            (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  return result;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

struct Optuna {
  double best, random;
};
const std::map<std::string, Optuna> kOptuna = {{"branin", {0.160, 0.747}},
                                               {"hartmann6", {0.323, 1.55}},
                                               {"rosenbrock4", {122.6, 2796}},
                                               {"ackley5", {9.41, 17.7}}};

}  // namespace

int main(int argc, char** argv) {
  int budget = 50, seeds = 20;
  std::string algorithm = "bayes", only;
  std::vector<std::string> cmd;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") {
      for (++i; i < argc; ++i) cmd.push_back(argv[i]);
    } else if (a == "--budget" && i + 1 < argc) {
      budget = std::atoi(argv[++i]);
    } else if (a == "--seeds" && i + 1 < argc) {
      seeds = std::atoi(argv[++i]);
    } else if (a == "--algorithm" && i + 1 < argc) {
      algorithm = argv[++i];
    } else if (a == "--only" && i + 1 < argc) {
      only = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: hpo-bench [--budget N] [--seeds N] [--algorithm A] "
                   "[--only NAME] -- CMD [ARGS...]\n");
      return 2;
    }
  }
  if (cmd.empty() || budget < 1 || seeds < 1) {
    std::fprintf(stderr, "hpo-bench: need a command after -- and positive --budget/--seeds\n");
    return 2;
  }
  bool all_pass = true;
  std::printf(
      "| function | ctflow %s median regret | Optuna best | Optuna random | median ms/suggestion "
      "(all) | median ms (last 10) | median CPU ms (last 10) | beats Optuna best |\n"
      "|---|---|---|---|---|---|---|---|\n",
      algorithm.c_str());
  for (const TestFunction& fn : ctflow::hpo::bench::test_functions()) {
    if (!only.empty() && fn.name != only) continue;
    json::object space;
    for (size_t j = 0; j < fn.lower.size(); ++j)
      space["x" + std::to_string(j)] = {
          {"type", "float"}, {"min", fn.lower[j]}, {"max", fn.upper[j]}};
    std::vector<double> regrets, ms_all, ms_last, cpu_all, cpu_last;
    for (int seed = 0; seed < seeds; ++seed) {
      json::array trials;
      double best = INFINITY;
      for (int t = 0; t < budget; ++t) {
        json::object req{
            {"algorithm", algorithm}, {"seed", seed},     {"objective", {{"goal", "minimize"}}},
            {"space", space},         {"trials", trials}, {"count", 1}};
        auto t0 = std::chrono::steady_clock::now();
        double cpu = 0;
        auto out = run(cmd, json::serialize(req), &cpu);
        double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                        .count();
        if (!out) {
          std::fprintf(stderr, "hpo-bench: %s seed %d trial %d: ask failed\n", fn.name.c_str(),
                       seed, t);
          return 2;
        }
        ms_all.push_back(ms);
        cpu_all.push_back(cpu);
        if (t >= budget - 10) cpu_last.push_back(cpu);
        if (t >= budget - 10) ms_last.push_back(ms);
        json::object params = json::parse(*out).at("suggestions").at(0).at("params").as_object();
        std::vector<double> x;
        for (size_t j = 0; j < fn.lower.size(); ++j)
          x.push_back(params.at("x" + std::to_string(j)).to_number<double>());
        double y = fn.f(x);
        best = std::min(best, y);
        trials.push_back(json::object{{"params", params}, {"value", y}});
      }
      regrets.push_back(best - fn.minimum);
    }
    const Optuna& o = kOptuna.at(fn.name);
    double reg = median(regrets), ms = median(ms_all), last = median(ms_last);
    bool pass = reg < o.best && last < 50;
    all_pass = all_pass && pass;
    std::printf("| %s | %.4g | %.4g | %.4g | %.1f | %.1f | %.1f | %s |\n", fn.name.c_str(), reg,
                o.best, o.random, ms, last, median(cpu_last), pass ? "yes" : "no");
    std::fflush(stdout);
  }
  return all_pass ? 0 : 1;
}
