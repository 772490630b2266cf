#!/usr/bin/env bash
# make bench-serve: one machine, one script, side by side (issue 21, acceptance 3):
#   (a) in-process: the same TorchScript forward pass + faiss search (build/serve_inproc), one
#       image per call and 32 per call;
#   (b) the peer: FastAPI + uvicorn (Debian python3-fastapi/-uvicorn/-torch/-faiss) serving the
#       same files with the same v2 route and computation (peer.py), no cross-request batching;
#   (c) ctflow-serve --model-dir (dynamic batching).
# wrk (Debian) at concurrency 1, 8 and 32 with one image per request, and 8 connections with 32
# images per request, DURATION seconds each, REPEAT rounds; prints every round and the medians.
# The model: MODEL_DIR (model.pt, index.faiss, index-labels.json), default: trained here by
# tests/bench/mnist/pipeline.sh on the full MNIST (`make data`; EPOCHS, default 1, since speed
# does not depend on accuracy) into $WORK/pipeline.
# INDEX=hnsw (default): build/serve_reindex turns the flat index into an HNSW one (HNSW_M,
# default 32; EF_SEARCH, default 64) in $WORK/model-hnsw and measures both indexes' kNN accuracy
# on the 10k MNIST test images (the bench stops when HNSW loses more than 0.1 points); both
# servers then serve that directory. INDEX=flat serves MODEL_DIR's flat index as it is.
# For each ctflow-serve run the script also prints where its batches' time went (/metrics:
# images and requests per batch, queue wait, forward pass, search).
# Knobs for quick probes: CONCURRENCY (default "1 8 32"), BATCH32 (0 skips the 32-image runs),
# PEER (0 skips FastAPI), REINDEX=0 (reuse $WORK/model-hnsw and its accuracy line), MAX_BATCH,
# MAX_DELAY_MS, SERVE_ARGS (more ctflow-serve flags).
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$root"
build=${BUILD:-build}
work=${WORK:-$build/bench-serve}
REPEAT=${REPEAT:-3}
DURATION=${DURATION:-10}
THREADS=${THREADS:-$(nproc)}
PY=${PYTHON:-/usr/bin/python3}  # Debian's, where python3-fastapi & co. are installed
mkdir -p "$work"
export OPENBLAS_NUM_THREADS=1 CTFLOW_THREADS=$THREADS
images=$(ls data/mnist/t10k-images-idx3-ubyte 2>/dev/null || ls ../shared/data/mnist/t10k-images-idx3-ubyte.gz)
labels=$(ls data/mnist/t10k-labels-idx1-ubyte 2>/dev/null || ls ../shared/data/mnist/t10k-labels-idx1-ubyte.gz)
INDEX=${INDEX:-hnsw}
CONCURRENCY=${CONCURRENCY:-1 8 32}
BATCH32=${BATCH32:-1}
PEER=${PEER:-1}

model=${MODEL_DIR:-}
if [ -z "$model" ]; then
  model=$work/model
  if [ ! -f "$model/index.faiss" ]; then
    [ -f data/mnist/train-images-idx3-ubyte ] || { echo "bench-serve: run 'make data' or set MODEL_DIR" >&2; exit 1; }
    CTFLOW_TASK_BIN=$build/ctflow-task bash tests/bench/mnist/pipeline.sh "$work/pipeline" \
      "mnist://$root/data/mnist" --epochs "${EPOCHS:-1}" --batch-size 256 --lr 0.003 --dim 64 --seed 1
    mkdir -p "$model"
    cp "$work/pipeline/train/model.pt" "$work/pipeline/evaluate/index.faiss" \
       "$work/pipeline/evaluate/index-labels.json" "$model/"
  fi
fi
if [ "$INDEX" = hnsw ] && [ "${REINDEX:-1}" = 0 ] && [ -f "$work/model-hnsw/index.faiss" ]; then
  model=$work/model-hnsw  # a probe reusing the last run's HNSW directory (REINDEX=0)
  cat "$work/reindex.txt"
elif [ "$INDEX" = hnsw ]; then
  # The accuracy check runs every time (a minute); the HNSW directory is rebuilt with it.
  "$build/serve_reindex" "$model" "$work/model-hnsw" "$images" "$labels" "${HNSW_M:-32}" \
    "${EF_SEARCH:-64}" 0.1 2> "$work/reindex.log" | tee "$work/reindex.txt" ||
    { echo "bench-serve: HNSW index rejected: $(tail -n 1 "$work/reindex.log")" >&2; exit 1; }
  model=$work/model-hnsw
elif [ "$INDEX" != flat ]; then
  echo "bench-serve: INDEX must be hnsw or flat" >&2; exit 2
fi
"$PY" tests/bench/serve/bodies.py "$images" "$work"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
wait_ready() {
  for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$1/v2/health/ready" >/dev/null && return 0; sleep 0.1; done
  echo "bench-serve: port $1 not ready" >&2; return 1
}
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
p_serve=$(free_port); p_peer=$(free_port)
"$build/ctflow-serve" --model-dir "$model" --model mnist --port "$p_serve" \
  --max-batch "${MAX_BATCH:-64}" --max-delay-ms "${MAX_DELAY_MS:-2}" ${SERVE_ARGS:-} 2> "$work/serve.log" &
pids+=($!)
"$PY" tests/bench/serve/peer.py "$model" "$p_peer" 2> "$work/peer.log" &
pids+=($!)
wait_ready "$p_serve"; wait_ready "$p_peer"

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
     "load average $(cut -d' ' -f1-3 /proc/loadavg) at start; threads $THREADS, OpenBLAS 1"
echo "model: $model ($(jq '.labels | length' "$model/index-labels.json") indexed images," \
     "k=$(jq .k "$model/index-labels.json"), index $(jq -r '.index // "flat"' "$model/index-labels.json"))"
results=$work/results.txt
: > "$results"
# The sums and counts of ctflow-serve's batch histograms (stage profile), one "name sum count"
# line each.
stages() {
  curl -sf "http://127.0.0.1:$p_serve/metrics" | awk '
    /^ctflow_serve_(batch_images|batch_requests|batch_wait_seconds|embed_seconds|search_seconds)_(sum|count) / {
      v[$1] = $2 }
    END { for (k in v) print k, v[k] }' | sort
}
run_wrk() {  # name port conns body
  local out before=""
  [ "$1" = serve ] && before=$(stages)
  out=$(BODY=$work/$4 wrk -t "$(( $3 < 4 ? $3 : 4 ))" -c "$3" -d "${DURATION}s" --latency \
        -s tests/bench/serve/post.lua "http://127.0.0.1:$2" | grep '^RESULT')
  echo "$1 c=$3 $4 $out" | tee -a "$results"
  if [ "$1" = serve ]; then
    "$PY" - "$before" "$(stages)" <<'PY' | sed "s/^/  profile c=$3 $4: /"
import sys
def parse(t):
    return {l.split()[0]: float(l.split()[1]) for l in t.splitlines() if l.strip()}
a, b = parse(sys.argv[1]), parse(sys.argv[2])
d = {k: b[k] - a.get(k, 0.0) for k in b}
n = d.get("ctflow_serve_batch_images_count", 0)
if n:
    m = lambda k: d[f"ctflow_serve_{k}_sum"] / n
    print(f"{int(n)} batches: {m('batch_images'):.1f} images and {m('batch_requests'):.1f} requests "
          f"a batch; wait {m('batch_wait_seconds')*1e3:.2f} ms, forward {m('embed_seconds')*1e3:.2f} ms, "
          f"search {m('search_seconds')*1e3:.2f} ms a batch")
PY
  fi
}
for round in $(seq 1 "$REPEAT"); do
  echo "--- round $round"
  "$build/serve_inproc" "$model" "$images" "$DURATION" "$THREADS" | sed 's/^/inproc /' | tee -a "$results"
  for c in $CONCURRENCY; do
    [ "$PEER" = 0 ] || run_wrk peer "$p_peer" $c v2_1.json
    run_wrk serve "$p_serve" $c v2_1.json
  done
  if [ "$BATCH32" != 0 ]; then
    [ "$PEER" = 0 ] || run_wrk peer "$p_peer" 8 v2_32.json
    run_wrk serve "$p_serve" 8 v2_32.json
  fi
done

# Medians per configuration: predictions/s (requests/s x images per request), p50, p99, errors.
echo
echo "medians of $REPEAT rounds (predictions/s, p50 ms, p99 ms, errors):"
"$PY" - "$results" <<'PY'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    kv = dict(re.findall(r"(\w+)=([\d.]+)", line))
    name = line.split()[0]
    if name == "inproc":
        key = f"in-process, {kv['batch']} image(s) per call"
        rows.setdefault(key, []).append((float(kv["predictions_per_s"]), float(kv["p50_ms"]), float(kv["p99_ms"]), 0))
    else:
        c = int(kv["c"]); per = 32 if "v2_32" in line else 1
        key = f"{name}, c={c}, {per} image(s) per request"
        rows.setdefault(key, []).append((float(kv["rps"]) * per, float(kv["p50_ms"]), float(kv["p99_ms"]), int(kv["errors"])))
med = {}
for key, vals in rows.items():
    m = [statistics.median(v[i] for v in vals) for i in range(3)] + [sum(v[3] for v in vals)]
    med[key] = m
    print(f"  {key:42s} {m[0]:9.1f} /s  p50 {m[1]:7.2f}  p99 {m[2]:7.2f}  errors {m[3]}")
for c, per in ((1, 1), (8, 1), (32, 1), (8, 32)):
    s, p = med.get(f"serve, c={c}, {per} image(s) per request"), med.get(f"peer, c={c}, {per} image(s) per request")
    if s and p:
        print(f"  ratio ctflow-serve / FastAPI at c={c}, {per} per request: {s[0] / p[0]:.2f}x")
PY
