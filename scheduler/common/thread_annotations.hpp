#pragma once
// Clang's thread-safety annotations (as LevelDB's port/thread_annotations.h): which mutex
// guards a member, which a function needs held. Checked by clang with -Wthread-safety (the
// `thread-safety` build in `make test`); other compilers ignore them.
#if defined(__clang__)
#define CTFLOW_TSA(x) __attribute__((x))
#else
#define CTFLOW_TSA(x)
#endif

#define CAPABILITY(x) CTFLOW_TSA(capability(x))
#define SCOPED_CAPABILITY CTFLOW_TSA(scoped_lockable)
#define GUARDED_BY(x) CTFLOW_TSA(guarded_by(x))
#define PT_GUARDED_BY(x) CTFLOW_TSA(pt_guarded_by(x))
#define REQUIRES(...) CTFLOW_TSA(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) CTFLOW_TSA(locks_excluded(__VA_ARGS__))
#define ACQUIRE(...) CTFLOW_TSA(acquire_capability(__VA_ARGS__))
#define RELEASE(...) CTFLOW_TSA(release_capability(__VA_ARGS__))
#define NO_THREAD_SAFETY_ANALYSIS CTFLOW_TSA(no_thread_safety_analysis)
