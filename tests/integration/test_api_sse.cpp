// Integration: Server-Sent Events (issue 4, acceptance 6). A client subscribes, a run is submitted,
// the client sees its tasks' transitions in order, drops the connection mid-run, reconnects with
// Last-Event-ID and ends up with exactly the run's events as stored: none missed, none twice.
#include <catch2/catch.hpp>

#include <pqxx/pqxx>

#include <map>

#include "tests/integration/api_support.hpp"

using namespace ctflow::it;
using namespace ctflow::it::api;

namespace {

struct Event {
  int64_t id = 0;
  std::string kind;
  json::object data;
};

// Accumulates stream bytes and yields complete events (blank-line separated; comments skipped).
class SseParser {
 public:
  std::vector<Event> feed(std::string_view bytes) {
    buf_.append(bytes);
    std::vector<Event> out;
    size_t end;
    while ((end = buf_.find("\n\n")) != std::string::npos) {
      std::string frame = buf_.substr(0, end);
      buf_.erase(0, end + 2);
      Event e;
      std::string data;
      size_t start = 0;
      while (start <= frame.size()) {
        size_t nl = frame.find('\n', start);
        if (nl == std::string::npos) nl = frame.size();
        std::string line = frame.substr(start, nl - start);
        if (line.rfind("id: ", 0) == 0) e.id = std::stoll(line.substr(4));
        if (line.rfind("event: ", 0) == 0) e.kind = line.substr(7);
        if (line.rfind("data: ", 0) == 0) data += line.substr(6);
        start = nl + 1;
      }
      if (e.id == 0) continue;  // a heartbeat comment
      e.data = json::parse(data).as_object();
      out.push_back(std::move(e));
    }
    return out;
  }

 private:
  std::string buf_;
};

int rank(const std::string& state) {
  static const std::map<std::string, int> order{
      {"pending", 0}, {"ready", 1}, {"dispatched", 2}, {"running", 3}, {"succeeded", 4}};
  auto it = order.find(state);
  return it == order.end() ? -1 : it->second;
}

const char* kSpec = R"(name: sse
tasks:
  - {name: a, run: [sh, -c, 'sleep 0.3']}
  - {name: b, needs: [a], run: [sh, -c, 'sleep 0.3']}
  - {name: c, needs: [b], run: [sh, -c, 'sleep 0.3']}
)";

}  // namespace

TEST_CASE("sse: every transition in order, resume with Last-Event-ID misses nothing",
          "[integration][api][sse]") {
  Harness h;
  auto c = h.server().client();
  std::string run = h.submit(kSpec);
  std::vector<Event> got;

  // First connection: from the beginning, until task a is running; then drop it.
  SseParser p1;
  auto st = c.stream("/api/v1/events?run=" + run, "", [&](std::string_view bytes) {
    for (auto& e : p1.feed(bytes)) got.push_back(std::move(e));
    for (const auto& e : got)
      if (e.kind == "task" && str(e.data.at("payload").as_object(), "state") == "running")
        return false;
    return true;
  });
  REQUIRE(st);
  REQUIRE(*st == 200);
  REQUIRE(!got.empty());
  int64_t last = got.back().id;
  size_t first_part = got.size();

  // Let the run move on while nobody listens, then resume.
  REQUIRE(poll_until(
      [&] {
        return h.db().count("SELECT count(*) FROM events WHERE run_id = " + run + " AND id > " +
                            std::to_string(last)) >= 3;
      },
      60s));
  SseParser p2;
  bool finished = false;
  st = c.stream("/api/v1/events?run=" + run, std::to_string(last), [&](std::string_view bytes) {
    for (auto& e : p2.feed(bytes)) {
      if (e.kind == "run" && run_final(str(e.data.at("payload").as_object(), "state")))
        finished = true;
      got.push_back(std::move(e));
    }
    return !finished;
  });
  REQUIRE(st);
  REQUIRE(finished);
  CHECK(got.size() > first_part);

  // Exactly the stored events of the run, in id order, each once.
  std::vector<std::string> ids;
  for (const auto& e : got) ids.push_back(std::to_string(e.id));
  CHECK(ids == h.db().column("SELECT id FROM events WHERE run_id = " + run + " ORDER BY id"));

  // Each task's transitions in order, ending succeeded, with dispatch and running seen.
  std::map<std::string, std::vector<std::string>> states;
  for (const auto& e : got)
    if (e.kind == "task") {
      const auto& pl = e.data.at("payload").as_object();
      states[str(pl, "task")].push_back(str(pl, "state"));
    }
  REQUIRE(states.size() == 3);
  for (const auto& [task, seq] : states) {
    INFO(task);
    for (size_t i = 1; i < seq.size(); ++i) CHECK(rank(seq[i]) > rank(seq[i - 1]));
    CHECK(seq.back() == "succeeded");
    CHECK(std::find(seq.begin(), seq.end(), "dispatched") != seq.end());
    CHECK(std::find(seq.begin(), seq.end(), "running") != seq.end());
  }
}

TEST_CASE(
    "sse: a transaction held open at an event id does not stop the stream and its event "
    "comes when it commits",
    "[integration][api][sse]") {
  Harness h;
  auto c = h.server().client();
  // A long writer takes an event id and stays open (a big submission, a slow statement).
  pqxx::connection conn(h.db().url());
  pqxx::work slow(conn);
  int64_t low = slow.exec(
                        "INSERT INTO events(kind, payload) VALUES ('model', "
                        "'{\"slow\": true}') RETURNING id")[0][0]
                    .as<int64_t>();
  std::string run = h.submit(kSpec);  // its events get higher ids and commit meanwhile
  std::vector<Event> got;
  bool run_ended_while_open = false, late_came = false;
  auto t0 = std::chrono::steady_clock::now();
  SseParser p;
  auto st =
      c.stream("/api/v1/events?after=" + std::to_string(low - 1), "", [&](std::string_view bytes) {
        for (auto& e : p.feed(bytes)) {
          if (e.id == low) late_came = true;
          if (e.kind == "run" && str(e.data, "run_id") == run &&
              run_final(str(e.data.at("payload").as_object(), "state"))) {
            run_ended_while_open = !late_came;
            slow.commit();  // now the late event may come
          }
          got.push_back(std::move(e));
        }
        return !late_came && std::chrono::steady_clock::now() - t0 < 50s;
      });
  REQUIRE(st);
  CHECK(run_ended_while_open);  // readers kept receiving past the open id
  CHECK(late_came);             // and the late event was delivered after it committed
  CHECK(got.back().id == low);
  CHECK(got.front().id > low);
  CHECK(std::chrono::steady_clock::now() - t0 < 20s);
}
