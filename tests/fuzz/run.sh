#!/usr/bin/env bash
# Builds the libFuzzer harnesses with clang (tests/fuzz/standalone) and runs each for a while.
#   tests/fuzz/run.sh [-t SECONDS] [-b BUILD_DIR] [--build-only | --no-build] [NAME...]
# NAME is a harness (fuzz_NAME.cpp); default: all of them. Seeds come from corpus/NAME/ (read
# only); inputs libFuzzer finds go to BUILD_DIR/corpus/NAME, crashes to BUILD_DIR/artifacts/NAME.
# Exit status: non-zero on a crash, a leak, a sanitizer report or a timeout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
seconds=20
build="$root/build/fuzz"
mode=all
names=()
while [ $# -gt 0 ]; do
  case "$1" in
    -t) seconds=$2; shift 2 ;;
    -b) build=$2; shift 2 ;;
    --build-only) mode=build; shift ;;
    --no-build) mode=run; shift ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) names+=("$1"); shift ;;
  esac
done
if [ ${#names[@]} -eq 0 ]; then
  for f in "$here"/fuzz_*.cpp; do n=$(basename "$f" .cpp); names+=("${n#fuzz_}"); done
fi

if [ "$mode" != run ]; then
  clang=${CLANGXX:-$(command -v clang++ || command -v clang++-14 || true)}
  if [ -z "$clang" ]; then echo "fuzz: clang++ not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; fi
  # Configured every time (cheap): a harness added since the last run is then a target.
  if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$here/standalone" -B "$build" -DCMAKE_CXX_COMPILER="$clang" \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  else
    cmake -S "$here/standalone" -B "$build" >/dev/null
  fi
  targets=()
  for n in "${names[@]}"; do targets+=(--target "fuzz_$n"); done
  cmake --build "$build" -j"${JOBS:-2}" "${targets[@]}"
fi
[ "$mode" = build ] && exit 0

status=0
for n in "${names[@]}"; do
  mkdir -p "$build/corpus/$n" "$build/artifacts/$n"
  echo "fuzz: $n for ${seconds}s"
  if ! "$build/fuzz_$n" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
      -print_final_stats=1 -artifact_prefix="$build/artifacts/$n/" \
      "$build/corpus/$n" "$here/corpus/$n"; then
    echo "fuzz: $n FAILED; reproducer in $build/artifacts/$n/" >&2
    status=1
  fi
done
exit $status
