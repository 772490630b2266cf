// Integration: bad input (issue 3, acceptance 4). Each case gives a one-line error naming the
// file or field and the reason, a non-zero exit or a 4xx, and changes nothing stored.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

#include "tests/integration/support/harness.hpp"

using namespace ctflow::it;

namespace {

// Row counts of everything a submission could store.
std::string stored(const Db& db) {
  return db.text(
      "SELECT (SELECT count(*) FROM pipelines) || '/' || (SELECT count(*) FROM pipeline_versions) "
      "|| '/' || (SELECT count(*) FROM runs) || '/' || (SELECT count(*) FROM task_runs) || '/' || "
      "(SELECT count(*) FROM task_attempts) || '/' || (SELECT count(*) FROM pools)");
}

std::vector<std::string> nonempty_lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// Submits `text` as FILE through the CLI and checks: exit 2, one error line holding every
// `expect` string, nothing stored.
void submit_rejected(Harness& h, const std::string& file_name, const std::string& text,
                     const std::vector<std::string>& expect) {
  std::string file = h.path(file_name);
  write_text(file, text);
  auto before = stored(h.db());
  auto r = h.cli({"submit", file});
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  CHECK(r.rc == 2);
  CHECK(r.out.empty());  // no run id
  auto lines = nonempty_lines(r.err);
  REQUIRE(lines.size() == 1);
  CHECK_THAT(lines[0], Catch::StartsWith("error: ") && Catch::Contains(file));
  for (const auto& e : expect) CHECK_THAT(lines[0], Catch::Contains(e));
  CHECK(stored(h.db()) == before);
}

}  // namespace

TEST_CASE("malformed YAML, unknown fields and oversized specs are refused",
          "[integration][bad_input]") {
  Harness h;
  // A valid submission first, so that "nothing changed" is checked against a non-empty store.
  auto ok = h.wait(h.submit("name: fine\ntasks:\n  - {name: a, run: [true]}\n"));
  REQUIRE(str(ok, "state") == "succeeded");

  submit_rejected(h, "broken.yaml", "name: broken\ntasks:\n  - name: a\n    run: [echo, hello\n",
                  {"line ", "malformed YAML"});
  submit_rejected(h, "typo.yaml",
                  "name: typo\ntasks:\n  - name: a\n    run: [echo]\n    retires: 3\n",
                  {"tasks[0].retires", "unknown field"});
  submit_rejected(h, "top.yaml", "name: top\ncolour: blue\ntasks:\n  - {name: a, run: [echo]}\n",
                  {"colour", "unknown field"});
  std::string big = "name: big\ntasks:\n  - {name: a, run: [echo]}\n";
  while (big.size() <= (8 << 20)) big += "# " + std::string(98, 'x') + "\n";  // kMaxSpecBytes
  submit_rejected(h, "big.yaml", big, {"8 MiB"});
  submit_rejected(h, "dep.yaml", "name: dep\ntasks:\n  - {name: a, needs: [b], run: [echo]}\n",
                  {"tasks[0].needs[0]", "unknown task \"b\""});

  // The same oversized spec straight to the API: a 4xx naming the limit, nothing stored.
  auto before = stored(h.db());
  json::object body{{"spec", big}};
  auto r = h.server().client().request("POST", "/api/v1/runs", json::serialize(body));
  REQUIRE(r);
  INFO(r->body);
  CHECK(r->status >= 400);
  CHECK(r->status < 500);
  CHECK_THAT(r->body, Catch::Contains("MiB") || Catch::Contains("limit"));
  CHECK(stored(h.db()) == before);

  // A file that does not exist.
  auto missing = h.cli({"submit", h.path("nope.yaml")});
  CHECK(missing.rc == 2);
  CHECK(nonempty_lines(missing.err).size() == 1);
  CHECK_THAT(missing.err, Catch::Contains("nope.yaml"));
}

TEST_CASE("a command that does not exist fails its task - the run goes on per the DAG",
          "[integration][bad_input]") {
  Harness h;
  std::string spec = R"(name: missing-command
tasks:
  - {name: a, run: [no-such-command-ctflow-test, --flag]}
  - {name: b, needs: [a], run: [touch, ")" +
                     h.path("b") + R"("]}
  - {name: c, run: [sh, -c, 'sleep 0.3; touch "$1"', x, ")" +
                     h.path("c") + R"("]}
  - {name: d, needs: [c], run: [touch, ")" +
                     h.path("d") + R"("]}
)";
  auto run = h.wait(h.submit(spec));
  CHECK(str(run, "state") == "failed");
  const auto& a = task_in(run, "a");
  CHECK(str(a, "state") == "failed");
  CHECK_THAT(str(a, "error"),
             Catch::Contains("not found") && Catch::Contains("no-such-command-ctflow-test"));
  CHECK(str(task_in(run, "b"), "state") == "upstream_failed");
  CHECK(str(task_in(run, "c"), "state") == "succeeded");
  CHECK(str(task_in(run, "d"), "state") == "succeeded");
  CHECK_FALSE(std::filesystem::exists(h.path("b")));
  CHECK(std::filesystem::exists(h.path("d")));
  // `ctflow run` shows the reason.
  auto shown = h.cli({"run", str(run, "id")});
  CHECK(shown.rc == 0);
  CHECK_THAT(shown.out, Catch::Contains("not found"));
}

TEST_CASE("a database that is down at start: bounded retries, then a one-line message",
          "[integration][bad_input]") {
  TempDir dir;
  // A socket folder with no server in it.
  std::string url = "postgresql:///ctflow?host=" + dir.path() + "&user=postgres";
  auto r = run_command({ctflow_bin(), "server", "--database-url", url, "--data-dir", dir / "data",
                        "--port", "0", "--db-connect-attempts", "3"},
                       60s);
  INFO("stderr: " << r.err << "\nstdout: " << r.out);
  CHECK(r.rc != 0);
  CHECK(r.rc != 124);  // it gave up by itself
  CHECK(r.seconds < 15);
  auto lines = nonempty_lines(r.err);
  REQUIRE(lines.size() == 1);
  CHECK_THAT(lines[0], Catch::Contains("database") && Catch::Contains("3 attempt"));
  CHECK_THAT(lines[0], Catch::Contains(dir.path()));  // which database
  CHECK_THAT(r.err, !Catch::Contains("API listening"));
}

TEST_CASE("the API without a valid token answers 401 and changes nothing",
          "[integration][bad_input]") {
  Harness h;
  auto id = h.submit(R"(name: guarded
tasks:
  - {name: wait, run: [sh, -c, 'while [ ! -e "$1" ]; do sleep 0.05; done', x, ")" +
                     h.path("go") + R"("]}
)");
  // Once its task runs, nothing changes the row counts but a request that gets through.
  REQUIRE(poll_until([&] { return h.db().count("SELECT count(*) FROM task_attempts") == 1; }, 60s));
  auto before = stored(h.db());
  std::string spec_body = json::serialize(
      json::object{{"spec", "name: intruder\ntasks:\n  - {name: a, run: [true]}\n"}});
  for (const std::string& token : {std::string(), std::string("ctf_not-a-real-token")}) {
    INFO("token \"" << token << "\"");
    ctflow::cli::Client anon(h.server().url(), token);
    auto post = anon.request("POST", "/api/v1/runs", spec_body);
    REQUIRE(post);
    CHECK(post->status == 401);
    auto cancel = anon.request("POST", "/api/v1/runs/" + id + "/cancel");
    REQUIRE(cancel);
    CHECK(cancel->status == 401);
    auto list = anon.request("GET", "/api/v1/runs");
    REQUIRE(list);
    CHECK(list->status == 401);
    CHECK(list->body.find("guarded") == std::string::npos);
  }
  // The CLI with a wrong token file: exit 2, one line.
  write_text(h.path("bad-token"), "ctf_wrong\n");
  write_text(h.path("x.yaml"), "name: intruder\ntasks:\n  - {name: a, run: [true]}\n");
  auto r = run_command({ctflow_bin(), "submit", h.path("x.yaml"), "--url", h.server().url(),
                        "--token-file", h.path("bad-token")});
  CHECK(r.rc == 2);
  CHECK(nonempty_lines(r.err).size() == 1);
  CHECK(stored(h.db()) == before);
  CHECK(h.db().text("SELECT cancel_requested::text FROM runs WHERE id = " + id) == "false");
  // Health endpoints need no token.
  ctflow::cli::Client anon(h.server().url(), "");
  auto health = anon.request("GET", "/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
  auto ready = anon.request("GET", "/readyz");
  REQUIRE(ready);
  CHECK(ready->status == 200);
  // Let the guarded run finish: it was never disturbed.
  write_text(h.path("go"), "");
  CHECK(str(h.wait(id), "state") == "succeeded");
}
