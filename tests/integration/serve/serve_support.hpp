#pragma once
// Test support for ctflow-serve (tests/integration/serve/): a tiny trained model version on
// disk, and the predictor as a child process on a free port.
//
// tiny_model() trains once per test process (synthetic digits, 400 images, 16-d, about 10 s)
// and writes model.pt, index.faiss and index-labels.json into a folder; its test images come
// with it, so a test can compare the predictor's answers with the in-process KnnModel's.
// ServeProcess is owned by one test thread; its stderr goes to a log file that failures quote;
// it gets SIGKILL when the test process dies.
#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "scheduler/cli/client.hpp"

namespace ctflow::it {

using namespace std::chrono_literals;

struct TinyModel {
  std::string dir;            // model.pt, index.faiss, index-labels.json
  std::vector<float> images;  // n * 784 test pixels in [0, 1]
  std::vector<int> expected;  // KnnModel's labels for them, in-process
  int64_t n = 0;
};
const TinyModel& tiny_model();

// A port nobody listens on now (bound and released).
int free_port();

class ServeProcess {
 public:
  // `args` follow the binary (--model-dir ... or --model ... --api ...); --port is added.
  explicit ServeProcess(std::vector<std::string> args, std::string log_path);
  ~ServeProcess();
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  // Waits for GET /v2/health/live (any answer means it is listening); throws with the log.
  void wait_live(std::chrono::milliseconds deadline = 60s);
  // Polls GET /v2/health/ready until it answers `want`; returns whether it did in time.
  bool wait_ready(int want_status, std::chrono::milliseconds deadline = 30s);
  int stop();  // SIGTERM, wait; the exit status
  void kill9();
  std::string log() const;
  const std::string& url() const { return url_; }
  cli::Client client() const { return cli::Client(url_, ""); }
  pid_t pid() const { return pid_; }

 private:
  std::string log_path_, url_;
  pid_t pid_ = -1;
};

// Pixels of image i of the tiny model's test set as a JSON array of 784 numbers.
std::string image_json(const TinyModel& m, int64_t i);

}  // namespace ctflow::it
