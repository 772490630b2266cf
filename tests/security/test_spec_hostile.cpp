// Security: hostile pipeline specs (issue 22). Alias bombs, nesting 10,000 deep, 10 MB strings
// and unicode names get a 4xx with a one-line reason (never a crash, never a 500, in bounded
// time); a param's value is data: `{{` in it is never expanded again and shell metacharacters in
// it reach the task as one argv element, never through a shell.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>

#include "scheduler/spec/parse.hpp"
#include "tests/integration/api_support.hpp"

using namespace ctflow::it;
using namespace ctflow::it::api;

namespace {

// POSTs `spec` as a run; returns the reply.
ctflow::cli::HttpReply post_spec(Harness& h, const std::string& spec) {
  json::object body{{"spec", spec}};
  auto t0 = std::chrono::steady_clock::now();
  auto r = h.server().client().request("POST", "/api/v1/runs", json::serialize(body));
  REQUIRE(r);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  INFO(spec.substr(0, 120) << " -> " << r->status << " " << r->body.substr(0, 400));
  CHECK(s < 5.0);
  return *r;
}

std::string alias_bomb() {
  std::string y = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 12; ++i) {
    std::string p = "*a" + std::to_string(i - 1);
    y += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + p + ", " + p + ", " + p +
         ", " + p + ", " + p + ", " + p + ", " + p + ", " + p + ", " + p + ", " + p + "]\n";
  }
  return y + "name: bomb\ntasks:\n  - {name: a, run: [echo, *a11]}\n";
}

}  // namespace

TEST_CASE("hostile specs: alias bombs - deep nesting - 10 MB strings - unicode names",
          "[security][spec]") {
  // The parser alone first: fast, bounded, one-line errors.
  std::vector<std::pair<std::string, std::string>> cases = {
      {"alias bomb", alias_bomb()},
      {"10,000 deep flow lists",
       "name: deep\ntasks: " + std::string(10000, '[') + std::string(10000, ']') + "\n"},
      {"10,000 deep flow maps", "name: deep\ntasks: " +
                                    [] {
                                      std::string s;
                                      for (int i = 0; i < 10000; ++i) s += "{a: ";
                                      return s + "1" + std::string(10000, '}');
                                    }() +
                                    "\n"},
      {"10,000 deep block maps", "name: deep\nparams:\n" +
                                     [] {
                                       std::string s;
                                       for (int i = 0; i < 10000; ++i)
                                         s += std::string(2 + i % 200, ' ') + "k:\n";
                                       return s;
                                     }()},
      {"a 10 MB string",
       "name: big\ntasks:\n  - {name: a, run: [echo, \"" + std::string(10 << 20, 'x') + "\"]}\n"},
  };
  for (const auto& [what, text] : cases) {
    INFO(what);
    auto t0 = std::chrono::steady_clock::now();
    auto r = ctflow::spec::parse_pipeline(text);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK(!r.pipeline);
    REQUIRE(!r.errors.empty());
    INFO(r.errors[0]);
    CHECK(r.errors[0].find('\n') == std::string::npos);
    CHECK(s < 5.0);
  }

  // The same over the API (the 10 MB one meets the body limit first), and unicode names.
  Harness h;
  for (size_t i = 0; i + 1 < cases.size(); ++i) {
    auto r = post_spec(h, cases[i].second);
    CHECK(r.status >= 400);
    CHECK(r.status < 500);
    CHECK(json::parse(r.body).is_object());
  }
  auto big = post_spec(h, cases.back().second);
  CHECK(big.status == 413);
  for (const std::string& spec :
       {std::string("name: \xe6\x97\xa5\xe6\x9c\xac\ntasks:\n  - {name: a, run: ['true']}\n"),
        std::string("name: ok\ntasks:\n  - {name: \"\xc3\xbc"
                    "n\xc3\xaf"
                    "code\", run: ['true']}\n"),
        std::string("name: ok\ntasks:\n  - {name: \"a\\u202Eb\", run: ['true']}\n"),
        std::string("name: \"\\u0000\"\ntasks:\n  - {name: a, run: ['true']}\n"),
        std::string("name: ok\ntasks:\n  - {name: \"../../etc\", run: ['true']}\n")}) {
    auto r = post_spec(h, spec);
    CHECK((r.status == 201 || r.status == 422 || r.status == 400));
  }
  CHECK(h.db().count("SELECT count(*) FROM runs") <= 1);
  auto health = h.server().client().request("GET", "/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
}

TEST_CASE("a param's value is data: never templated again - never through a shell",
          "[security][spec]") {
  Harness h;
  std::string pwned = h.path("pwned");
  const std::string hostile = "{{run.id}} {{params.out}} $(touch " + pwned + ") `touch " + pwned +
                              "`; touch " + pwned + " | && > ' \" \\ \n*";
  std::string out = h.path("out.txt");
  std::string env_out = h.path("env.txt");
  std::string spec =
      "name: inject\nparams:\n  v: {type: string, default: x}\n  out: {type: string, default: "
      "x}\n  env_out: {type: string, default: x}\ntasks:\n"
      "  - name: argv\n    run: [sh, -c, 'printf \"%s\" \"$1\" > \"$2\"', sh, \"{{params.v}}\", "
      "\"{{params.out}}\"]\n"
      "  - name: env\n    env: {V: \"{{params.v}}\"}\n"
      "    run: [sh, -c, 'printf \"%s\" \"$V\" > \"$1\"', sh, \"{{params.env_out}}\"]\n"
      "  - name: plain\n    run: [echo, \"{{params.v}}\"]\n";
  auto id = h.submit(spec, {{"v", hostile}, {"out", out}, {"env_out", env_out}});
  auto run = h.wait(id);
  INFO(json::serialize(run));
  REQUIRE(str(run, "state") == "succeeded");
  CHECK(slurp(out) == hostile);  // byte for byte: no expansion, no shell
  CHECK(slurp(env_out) == hostile);
  CHECK(!std::filesystem::exists(pwned));
}
