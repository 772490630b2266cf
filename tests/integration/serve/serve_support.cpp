#include "tests/integration/serve/serve_support.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tasks/data/steps.hpp"
#include "tasks/eval/steps.hpp"
#include "tasks/model/knn_model.hpp"
#include "tasks/train/train.hpp"
#include "tests/unit/tasks/helpers.hpp"

namespace ctflow::it {

namespace {

TinyModel train_tiny() {
  static tasks::test::TempDir root;  // lives as long as the test process
  tasks::test::Pipeline p{root / "run"};
  auto need = [](const auto& r, const char* what) {
    if (!r) throw std::runtime_error(std::string(what) + ": " + r.error());
  };
  need(p.step("extract",
              [](const tasks::TaskContext& c) {
                return tasks::run_extract(c, {"synthetic://digits?n=400&seed=11", ""});
              }),
       "extract");
  need(p.step("transform", [](const tasks::TaskContext& c) { return tasks::run_transform(c, {}); }),
       "transform");
  need(p.step("split",
              [](const tasks::TaskContext& c) {
                return tasks::run_split(c, {0.2, 1});
              }),
       "split");
  need(p.step("train",
              [](const tasks::TaskContext& c) {
                tasks::TrainOptions o;
                o.epochs = 2;
                o.batch_size = 32;
                o.lr = 5e-3;
                o.dim = 16;
                return tasks::run_train(c, o);
              }),
       "train");
  need(p.step("evaluate", [](const tasks::TaskContext& c) { return tasks::run_evaluate(c, {}); }),
       "evaluate");
  TinyModel m;
  m.dir = root / "model";
  std::filesystem::create_directories(m.dir);
  namespace fs = std::filesystem;
  fs::copy_file(p.dir("train") + "/model.pt", m.dir + "/model.pt");
  fs::copy_file(p.dir("evaluate") + "/index.faiss", m.dir + "/index.faiss");
  fs::copy_file(p.dir("evaluate") + "/index-labels.json", m.dir + "/index-labels.json");
  tasks::TaskContext ctx;
  ctx.inputs = p.inputs;
  auto test = tasks::read_dataset(ctx.artifact("testset")->path);
  need(test, "testset");
  m.n = std::min<int64_t>(test->size(), 64);
  for (int64_t s = 0; s < m.n; ++s)
    for (int64_t i = 0; i < 784; ++i) m.images.push_back(test->pixel01(s, i));
  auto files = tasks::files_in_dir(m.dir);
  need(files, "files");
  auto knn = tasks::KnnModel::load(*files);
  need(knn, "load");
  auto v = (*knn)->predict(m.images.data(), m.n);
  need(v, "predict");
  m.expected = v->pred;
  return m;
}

}  // namespace

const TinyModel& tiny_model() {
  static const TinyModel m = train_tiny();
  return m;
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("free_port: cannot bind");
  ::close(fd);
  return ntohs(a.sin_port);
}

ServeProcess::ServeProcess(std::vector<std::string> args, std::string log_path)
    : log_path_(std::move(log_path)) {
  const int port = free_port();
  url_ = "http://127.0.0.1:" + std::to_string(port);
  std::vector<std::string> argv{std::string(CTFLOW_BINARY_DIR) + "/ctflow-serve"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--port");
  argv.push_back(std::to_string(port));
  std::vector<char*> av;
  for (auto& s : argv) av.push_back(s.data());
  av.push_back(nullptr);
  int out = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out < 0) throw std::runtime_error("cannot open " + log_path_);
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(out, 1);
    ::dup2(out, 2);
    ::execv(av[0], av.data());
    ::_exit(127);
  }
  ::close(out);
  if (pid_ < 0) throw std::runtime_error("cannot fork");
}

ServeProcess::~ServeProcess() {
  if (pid_ > 0) kill9();
}

std::string ServeProcess::log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void ServeProcess::wait_live(std::chrono::milliseconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    int status = 0;
    if (pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("ctflow-serve exited; log:\n" + log());
    }
    auto c = client();
    if (auto r = c.request("GET", "/v2/health/live"); r && r->status == 200) return;
    std::this_thread::sleep_for(50ms);
  }
  throw std::runtime_error("ctflow-serve is not live; log:\n" + log());
}

bool ServeProcess::wait_ready(int want_status, std::chrono::milliseconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    auto c = client();
    if (auto r = c.request("GET", "/v2/health/ready"); r && r->status == want_status) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

int ServeProcess::stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void ServeProcess::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

std::string image_json(const TinyModel& m, int64_t i) {
  std::string out = "[";
  for (int64_t k = 0; k < 784; ++k) {
    if (k) out += ",";
    out += fmt::format("{}", m.images[i * 784 + k]);  // shortest exact form
  }
  return out + "]";
}

}  // namespace ctflow::it
