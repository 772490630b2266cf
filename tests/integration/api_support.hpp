#pragma once
// Shared by the API integration tests (test_api_*.cpp): tokens by role, a raw socket for requests
// a well-behaved client would never send, and a seeded server (a failed run with metrics, an
// artifact, a registered and deployed model) so that every resource has something to return.
//
// Used from the test's thread only; helpers throw std::runtime_error with the context.
#include <string>

#include "tests/integration/support/harness.hpp"

namespace ctflow::it::api {

// Creates a token of `role` (viewer | operator | admin) through the API; returns the secret.
std::string make_token(const ServerProcess& s, const std::string& role);
// A client with `token` ("" for none).
cli::Client client(const ServerProcess& s, const std::string& token);

// The port of a server URL "http://127.0.0.1:PORT".
int port_of(const ServerProcess& s);
// A connected TCP socket to 127.0.0.1:port (blocking); throws when it cannot connect.
int connect_to(int port);
// Reads until the peer closes or `timeout_ms` passes; returns what arrived and whether the peer
// closed (true) or the time ran out (false).
std::pair<std::string, bool> read_until_close(int fd, int timeout_ms);
void send_all(int fd, const std::string& bytes);

// What the seeded server holds.
struct Seed {
  std::string failed_run;  // a failed run: tasks train (metrics, artifact), register, flaky, after
  std::string pipeline = "apitest";
  std::string model = "digits";
  std::string digest;  // the artifact train/model
  std::string admin, operator_token, viewer;
};
// Submits the seed pipeline and waits for it to fail (flaky fails until `ok_file` exists).
Seed seed(Harness& h);
// Runs a two-trial grid study (x in {1, 3}, loss = x) to its end; returns the study's id.
std::string seed_study(Harness& h);

}  // namespace ctflow::it::api
