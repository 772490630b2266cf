#!/usr/bin/env bash
# `make bench-mnist`: the whole MNIST CT pipeline on the full data (60k training images in 12
# monthly partitions, 10k test images), with ctflow-task run step by step as the engine would
# (tests/bench/mnist/pipeline.sh), plus kNN on raw pixels as the baseline. Prints accuracy,
# training time and peak memory per step; the numbers go to docs/benchmarks.md ("MNIST").
# Needs `make data`. Env: BUILD (default build), EPOCHS (default 8), WORK (default
# $BUILD/bench-mnist), THREADS (default: all CPUs).
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$root"
build=${BUILD:-build}
epochs=${EPOCHS:-8}
work=${WORK:-$build/bench-mnist}
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  [ -f data/mnist/$f ] || { echo "bench-mnist: data/mnist/$f is missing; run 'make data' first" >&2; exit 1; }
done
[ -x "$build/ctflow-task" ] || { echo "bench-mnist: $build/ctflow-task not built" >&2; exit 1; }
[ -z "${THREADS:-}" ] || export CTFLOW_THREADS=$THREADS

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
     "load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
echo "BLAS: $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3)"
cmd=(bash tests/bench/mnist/pipeline.sh "$work" "mnist://$root/data/mnist"
     --epochs "$epochs" --batch-size 256 --lr 0.003 --dim 64 --seed 1)
echo "command: TIME=1 BASELINE_K=5 CTFLOW_TASK_BIN=$build/ctflow-task ${cmd[*]}"
TIME=1 BASELINE_K=5 CTFLOW_TASK_BIN="$build/ctflow-task" "${cmd[@]}"

peak() { awk -F': ' '/Maximum resident set size/ {printf "%.0f MiB", $2/1024}' "$work/$1/time.txt"; }
wall() { awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/$1/time.txt"; }
cpu() { awk -F': ' '/User time|System time/ {t += $2} END {printf "%.0f", t}' "$work/$1/time.txt"; }
echo
echo "training: $(jq -r '.outputs.train_seconds | floor' "$work/train/outputs.json") s for $epochs epochs" \
     "(process wall $(wall train), CPU $(cpu train) s, peak RSS $(peak train)); val_accuracy" \
     "$(jq -r .outputs.val_accuracy "$work/train/outputs.json")"
echo "  cumulative seconds after each epoch: $(sed -n 's/.*train: epoch .*(\([0-9.]*\) s)$/\1/p' "$work/train/stderr.log" | tr '\n' ' ')"
echo "evaluate: kNN (faiss IndexFlatIP, k=5) test accuracy $(jq -r .outputs.accuracy "$work/evaluate/outputs.json")" \
     "(embed $(jq -r '.outputs.embed_seconds*10|floor/10' "$work/evaluate/outputs.json") s," \
     "search $(jq -r '.outputs.search_seconds*10|floor/10' "$work/evaluate/outputs.json") s, peak RSS $(peak evaluate))"
echo "baseline: raw-pixel kNN (faiss IndexFlatL2, k=5) test accuracy $(jq -r .outputs.accuracy "$work/baseline/outputs.json")" \
     "(search $(jq -r '.outputs.search_seconds*10|floor/10' "$work/baseline/outputs.json") s, peak RSS $(peak baseline))"
echo "gate: $(jq -r .outputs.reason "$work/validate-model/outputs.json")"
for s in extract validate-data transform split train evaluate validate-model analyse register baseline; do
  printf '  %-15s wall %-8s peak RSS %s\n' "$s" "$(wall $s)" "$(peak $s)"
done
acc=$(jq -r .outputs.accuracy "$work/evaluate/outputs.json")
secs=$(jq -r .outputs.train_seconds "$work/train/outputs.json")
ok=$(echo "$acc >= 0.994 && $secs <= 300" | bc)
[ "$ok" = 1 ] && echo "target met: accuracy >= 99.4% and training <= 300 s" || \
  echo "target NOT met: accuracy $acc (>= 0.994), training $secs s (<= 300)"
