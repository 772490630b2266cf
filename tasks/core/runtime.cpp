#include "tasks/core/runtime.hpp"

#include <dlfcn.h>
#include <link.h>
#include <malloc.h>
#include <omp.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "scheduler/common/log.hpp"

// torch::set_num_threads lives in libtorch; declared here so that this file needs no torch
// headers (they cost ~15 s per translation unit).
namespace at {
void set_num_threads(int);
}

namespace ctflow::tasks {

static int g_threads = 1;

static int collect(struct dl_phdr_info* info, size_t, void* data) {
  auto* out = static_cast<BlasInfo*>(data);
  if (!info->dlpi_name || !*info->dlpi_name) return 0;
  std::string name = info->dlpi_name;
  auto base = std::filesystem::path(name).filename().string();
  if (base.rfind("libblas.so", 0) == 0 || base.rfind("libopenblas", 0) == 0) {
    std::error_code ec;
    auto real = std::filesystem::canonical(name, ec);
    std::string path = ec ? name : real.string();
    if (out->library.empty() || path.find("openblas") != std::string::npos) out->library = path;
  }
  return 0;
}

BlasInfo detect_blas() {
  BlasInfo b;
  dl_iterate_phdr(collect, &b);
  b.openblas = b.library.find("openblas") != std::string::npos ||
               dlsym(RTLD_DEFAULT, "openblas_get_config") != nullptr;
  b.reference = !b.openblas && b.library.find("/blas/") != std::string::npos;
  return b;
}

void set_blas_threads(int n) {
  using SetFn = void (*)(int);
  if (auto fn = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) fn(n);
}

int configured_threads() {
  return g_threads;
}

int configure_threads(int threads) {
  if (threads <= 0) {
    if (const char* e = std::getenv("CTFLOW_THREADS")) threads = std::atoi(e);
  }
  if (threads <= 0) threads = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  if (threads <= 0) threads = 1;
  g_threads = threads;
  // Tensors of tens of MB are allocated and freed every batch; above glibc's mmap threshold each
  // one is a fresh mmap whose pages fault in zeroed (a third of the CPU time went to the kernel).
  // Keep them on the heap and do not trim it.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // the largest value glibc accepts
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  at::set_num_threads(threads);
  omp_set_num_threads(threads);
  set_blas_threads(1);
  BlasInfo b = detect_blas();
  if (b.reference) {
    log::warn(
        "BLAS: the reference BLAS ({}) is loaded; faiss and torch will be ~45x slower. "
        "Install libopenblas0-pthread (update-alternatives libblas.so.3)",
        b.library);
  } else {
    log::info("BLAS: {}{}; threads: {}", b.library.empty() ? "not found" : b.library,
              b.openblas ? " (OpenBLAS)" : "", threads);
  }
  return threads;
}

}  // namespace ctflow::tasks
