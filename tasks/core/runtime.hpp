#pragma once
// Process-wide numeric settings of ctflow-task: thread counts and the BLAS check.
//
// Threads (2 cores are shared here, so oversubscription costs 2-3x, see BUILD-NOTES): torch's
// intra-op pool and OpenMP (faiss) get `threads`; OpenBLAS gets 1 thread while torch runs (torch
// already parallelises over the batch and calls gemm from each worker) and `threads` only around
// faiss's exhaustive search, which calls sgemm from a single thread. The count comes from
// --threads, else CTFLOW_THREADS, else the number of online CPUs.
// Call from the main thread before any numeric work.
#include <string>

namespace ctflow::tasks {

struct BlasInfo {
  std::string library;  // resolved path of the loaded libblas/libopenblas, "" if none found
  bool openblas = false;
  bool reference = false;  // Debian's slow reference BLAS (netlib)
};

// Which BLAS the process loaded (from the dynamic linker's list of objects).
BlasInfo detect_blas();

// Sets torch/OpenMP threads to `threads` (<= 0: the default described above) and OpenBLAS to 1.
// Logs the BLAS in use; warns when it is the reference BLAS. Returns the thread count chosen.
int configure_threads(int threads);

// OpenBLAS's own pool (no-op when OpenBLAS is not loaded). Used around faiss searches.
void set_blas_threads(int n);
int configured_threads();

}  // namespace ctflow::tasks
