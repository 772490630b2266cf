// poll_until (declared in server_process.hpp).
#include <thread>

namespace ctflow::it {

template <class Pred>
bool poll_until(Pred pred, std::chrono::milliseconds timeout, std::chrono::milliseconds every) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(every);
  }
}

}  // namespace ctflow::it
