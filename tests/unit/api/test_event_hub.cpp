// EventHub without a database: generations, waits, and the settle that a run's end cuts short.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "scheduler/api/service.hpp"

using ctflow::api::EventHub;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

TEST_CASE("event hub: a wait ends at the next notification", "[api][events]") {
  EventHub hub("");
  auto seen = hub.generation();
  std::thread t([&] {
    std::this_thread::sleep_for(milliseconds(50));
    hub.poke();
  });
  auto now = hub.wait(seen, std::chrono::seconds(10));
  t.join();
  CHECK(now == seen + 1);
}

TEST_CASE("event hub: settle waits out a task's notification but not a run's end",
          "[api][events]") {
  EventHub hub("");
  auto seen = hub.generation();
  hub.poke();  // a task changed: settle lets more commits join
  auto t0 = Clock::now();
  hub.settle(seen, milliseconds(300));
  CHECK(Clock::now() - t0 >= milliseconds(300));

  seen = hub.generation();
  std::thread t([&] {
    std::this_thread::sleep_for(milliseconds(50));
    hub.poke(true);  // a run ended
  });
  t0 = Clock::now();
  hub.settle(seen, std::chrono::seconds(20));
  t.join();
  CHECK(Clock::now() - t0 < std::chrono::seconds(10));
  CHECK(hub.generation() == seen + 1);

  // An urgent notification seen before does not cut the next settle short.
  seen = hub.generation();
  hub.poke();
  t0 = Clock::now();
  hub.settle(seen, milliseconds(300));
  CHECK(Clock::now() - t0 >= milliseconds(300));
}
