#!/usr/bin/env bash
# make bench-hpo: the HPO benchmark of issue 6. Drives `ctflow hpo ask` (one process per
# suggestion) on branin, hartmann6, rosenbrock4 and ackley5, budget 50, seeds 0..19, and prints
# the median simple regret and milliseconds per suggestion next to Optuna 3.1's numbers.
# Falls back to build/hpo-ask (same contract, same library) while the CLI lacks `hpo ask`.
# Environment: BUILD (default build), SEEDS (20), BUDGET (50), ALGORITHM (bayes).
set -euo pipefail
cd "$(dirname "$0")/../../.."
BUILD=${BUILD:-build}
probe='{"algorithm":"random","space":{"x":{"type":"float","min":0,"max":1}}}'
if [ -x "$BUILD/ctflow" ] && echo "$probe" | "$BUILD/ctflow" hpo ask 2>/dev/null | grep -q suggestions; then
  ask=("$BUILD/ctflow" hpo ask)
elif [ -x "$BUILD/hpo-ask" ]; then
  ask=("$BUILD/hpo-ask")
  echo "bench-hpo: $BUILD/ctflow has no working 'hpo ask' yet; using $BUILD/hpo-ask" >&2
else
  echo "bench-hpo: neither $BUILD/ctflow hpo ask nor $BUILD/hpo-ask is built (run make build)" >&2
  exit 2
fi
echo "bench-hpo: ${ask[*]}, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$BUILD/hpo-bench" --seeds "${SEEDS:-20}" --budget "${BUDGET:-50}" \
  --algorithm "${ALGORITHM:-bayes}" -- "${ask[@]}" | tee "$BUILD/bench-hpo.md"
