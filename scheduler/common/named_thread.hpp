#pragma once
// A std::thread whose name (at most 15 characters) shows in `top -H`, `ps -L` and perf.
#include <pthread.h>

#include <thread>
#include <utility>

namespace ctflow {

template <class Fn>
std::thread named_thread(const char* name, Fn fn) {
  return std::thread([name, fn = std::move(fn)]() mutable {
    pthread_setname_np(pthread_self(), name);
    fn();
  });
}

}  // namespace ctflow
