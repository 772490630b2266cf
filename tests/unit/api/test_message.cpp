// Request/Response helpers, target parsing, Beast conversions, SSE format and StreamChannel.
#include "scheduler/api/http/beast_convert.hpp"
#include "scheduler/api/http/sse.hpp"
#include "scheduler/api/http/stream.hpp"

#include <catch2/catch.hpp>

#include <thread>

using namespace ctflow::http;
namespace json = boost::json;

TEST_CASE("split_target decodes the query and keeps the path encoded", "[http][message]") {
  std::string path;
  QueryParams q;
  REQUIRE(split_target("/api/v1/runs%2F1?state=queued&state=running&name=a+b%26c&flag", path, q));
  CHECK(path == "/api/v1/runs%2F1");
  REQUIRE(q.size() == 4);
  CHECK(q[2] == std::pair<std::string, std::string>{"name", "a b&c"});
  CHECK(q[3] == std::pair<std::string, std::string>{"flag", ""});
  Request r;
  r.query = q;
  CHECK(r.query_values("state") == std::vector<std::string>{"queued", "running"});
  CHECK(!r.query_value("missing"));
  // Booleans: the default when absent, true/1 and false/0, nothing else.
  r.query = {{"a", "true"}, {"b", "0"}, {"c", "yes"}, {"d", ""}};
  CHECK(r.query_bool("a", false) == true);
  CHECK(r.query_bool("b", true) == false);
  CHECK(r.query_bool("missing", true) == true);
  CHECK_FALSE(r.query_bool("c", true));
  CHECK_FALSE(r.query_bool("d", false));
  CHECK_FALSE(split_target("http://host/x", path, q));
  CHECK_FALSE(split_target("/x?a=%4", path, q));
  CHECK_FALSE(split_target("/x?a=%00", path, q));
}

TEST_CASE("bearer tokens are read from Authorization", "[http][message]") {
  CHECK(bearer_token("Bearer abc.def") == "abc.def");
  CHECK(bearer_token("bearer   tok  ") == "tok");
  CHECK(bearer_token("Basic dXNlcjpwYXNz") == "");
  CHECK(bearer_token("Bearer") == "");
  CHECK(bearer_token("Bearerx tok") == "");
}

TEST_CASE("to_request joins repeated headers and looks them up case-insensitively",
          "[http][message]") {
  BeastRequest in{bhttp::verb::post, "/api/v1/runs?x=1", 11};
  in.insert("X-Tag", "a");
  in.insert("x-tag", "b");
  in.set(bhttp::field::authorization, "Bearer t0k");
  in.body() = "{}";
  Request out;
  REQUIRE(!to_request(in, "127.0.0.1:5", out));
  CHECK(out.method == "POST");
  CHECK(out.path == "/api/v1/runs");
  CHECK(out.header("X-TAG") == "a, b");
  CHECK(out.bearer_token == "t0k");
  CHECK(out.body == "{}");
  CHECK(out.remote_address == "127.0.0.1:5");

  BeastRequest bad{bhttp::verb::get, "*", 11};
  auto err = to_request(bad, "", out);
  REQUIRE(err);
  CHECK(err->status == 400);
}

TEST_CASE("error helpers build the JSON error shape", "[http][message]") {
  Response r = conflict("run 7 is already finished", "/api/v1/runs/7/cancel");
  CHECK(r.status == 409);
  CHECK(r.content_type == "application/json");
  CHECK(json::parse(r.body) ==
        json::parse(R"({"error":{"code":"conflict","message":"run 7 is already finished",)"
                    R"("path":"/api/v1/runs/7/cancel"}})"));
  BeastResponse b = to_beast(r, 11, true);
  CHECK(b.result_int() == 409);
  CHECK(b[bhttp::field::content_length] == std::to_string(r.body.size()));
}

TEST_CASE("parse_json_body returns a 400 for bad JSON", "[http][message]") {
  Request req;
  req.path = "/api/v1/runs";
  req.body = R"({"pipeline": )";
  auto [value, error] = parse_json_body(req);
  REQUIRE(error);
  CHECK(error->status == 400);
  req.body = R"({"pipeline": "p"})";
  auto [ok, none] = parse_json_body(req);
  CHECK(!none);
  CHECK(ok.at("pipeline") == "p");
}

TEST_CASE("SSE events split data lines and strip newlines from fields", "[http][sse]") {
  SseEvent e;
  e.id = "7";
  e.event = "run";
  e.data = "{\"a\":1}";
  CHECK(format_sse(e) == "id: 7\nevent: run\ndata: {\"a\":1}\n\n");
  SseEvent lines;
  lines.data = "one\ntwo\r\nthree";
  CHECK(format_sse(lines) == "data: one\ndata: two\ndata: three\n\n");
  SseEvent odd;
  odd.id = "1\n2";
  odd.retry_ms = 3000;
  CHECK(format_sse(odd) == "id: 12\nretry: 3000\ndata: \n\n");
  CHECK(sse_comment("heartbeat") == ": heartbeat\n\n");
  Request req;
  req.headers["last-event-id"] = "41";
  CHECK(last_event_id(req) == "41");
  Response r = sse_response([](StreamSink&) {});
  CHECK(r.content_type == "text/event-stream");
  CHECK(r.headers.at("Cache-Control") == "no-cache");
}

TEST_CASE("StreamChannel hands chunks over and tells the producer when it closes",
          "[http][stream]") {
  StreamChannel ch(8);
  std::atomic<int> notified{0};
  ch.set_notify([&] { ++notified; });
  bool late_write = true;
  std::thread producer([&] {
    ch.write("hello");
    ch.write("world!!!");  // blocks until the consumer takes: the buffer holds 8 bytes
    while (ch.wait_for(std::chrono::milliseconds(5))) {
    }
    late_write = ch.write("late");
    ch.finish();
  });
  std::string got;
  while (got.size() < 13) ch.take(got);
  CHECK(got == "helloworld!!!");
  ch.close();
  producer.join();
  CHECK_FALSE(late_write);
  std::string rest;
  CHECK(ch.take(rest));
  CHECK(rest.empty());
  CHECK(notified >= 3);
}

TEST_CASE("error bodies stay valid JSON when the request holds invalid UTF-8", "[http][message]") {
  CHECK(to_valid_utf8("runs/\xc3\xa9t\xe2\x82\xac") == "runs/\xc3\xa9t\xe2\x82\xac");
  CHECK(to_valid_utf8("a\xff"
                      "b") ==
        "a\xef\xbf\xbd"
        "b");
  CHECK(to_valid_utf8("\xc0\xaf") == "\xef\xbf\xbd\xef\xbf\xbd");                  // overlong '/'
  CHECK(to_valid_utf8("\xed\xa0\x80") == "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // surrogate
  CHECK(to_valid_utf8("\xe2\x82") == "\xef\xbf\xbd\xef\xbf\xbd");                  // truncated
  Response r = not_found("no run \xff", "/api/v1/runs/\xff\xfe");
  json::error_code ec;
  json::value v = json::parse(r.body, ec);
  REQUIRE(!ec);
  CHECK(v.at("error").at("path") == "/api/v1/runs/\xef\xbf\xbd\xef\xbf\xbd");
}

// Issue 22: names and ids go to PostgreSQL as text, so a decoded path segment or query value
// that is not UTF-8 is refused here (a 400), not by the database (a 500).
TEST_CASE("percent_decode refuses NUL and invalid UTF-8", "[http][message]") {
  CHECK(percent_decode("caf%C3%A9", false) == std::optional<std::string>("caf\xC3\xA9"));
  CHECK(percent_decode("%E6%97%A5", false) == std::optional<std::string>("\xE6\x97\xA5"));
  for (const char* bad : {"%00", "%ff", "%c0%af", "%ed%a0%80", "%f4%90%80%80", "%e6%97", "a%80b"})
    CHECK_FALSE(percent_decode(bad, false));
  CHECK(is_valid_utf8("plain ascii"));
  CHECK_FALSE(is_valid_utf8("\xC3"));
  std::string path;
  QueryParams q;
  CHECK_FALSE(split_target("/api/v1/runs?pipeline=%ff%fe", path, q));
  CHECK(split_target("/api/v1/runs?pipeline=caf%C3%A9", path, q));
}
