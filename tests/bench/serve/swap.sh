#!/usr/bin/env bash
# make swap-serve (issue 21, acceptance 2): wrk drives v2 inference at ctflow-serve, which follows
# the production alias of a real `ctflow server`, while the alias moves: version 2 is deployed,
# then version 3 as a 10% canary, then rolled back. Checks: zero non-2xx (and no socket errors),
# the new version answers within a few seconds of the deploy, and the canary's share of the
# requests between its start and the rollback is 10% +- 3 over at least MIN_CANARY (5,000)
# requests (counted from the predictor's ctflow_serve_requests_by_version_total).
# The three versions are the files of MODEL_DIR (default build/bench-serve/model, made by
# `make bench-serve`) registered three times. Exit 0 when every check passes.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$root"
build=${BUILD:-build}
CTFLOW=${CTFLOW:-$root/$build/ctflow}
model=${MODEL_DIR:-$build/bench-serve/model}
model=$(readlink -f "$model")
MIN_CANARY=${MIN_CANARY:-5000}
CONNS=${CONNS:-4}
[ -f "$model/index.faiss" ] || { echo "swap-serve: no model in $model (run make bench-serve or set MODEL_DIR)" >&2; exit 1; }
. tests/lib/server_env.sh
start_cluster swap-serve
start_server
export CTFLOW_URL="$BASE" CTFLOW_TOKEN_FILE="$TOKEN_FILE" OPENBLAS_NUM_THREADS=1
PY=${PYTHON:-/usr/bin/python3}
images=$(ls data/mnist/t10k-images-idx3-ubyte 2>/dev/null || ls ../shared/data/mnist/t10k-images-idx3-ubyte.gz)
"$PY" tests/bench/serve/bodies.py "$images" "$WORK"

for n in 1 2 3; do
  cat > "$WORK/reg$n.sh" <<SH
set -e
cp "$model/model.pt" "$model/index.faiss" "$model/index-labels.json" .
echo '{"artifacts":{"model":{"path":"model.pt","kind":"model"},"index":{"path":"index.faiss","kind":"index"},"index-labels":{"path":"index-labels.json","kind":"index"}},"registry":[{"op":"register","model":"mnist","artifacts":["model","index","index-labels"]}]}' > "\$CTFLOW_OUTPUTS"
SH
  printf 'name: reg%s\ntasks:\n  - name: reg\n    cache: false\n    run: [sh, "%s"]\n' "$n" "$WORK/reg$n.sh" > "$WORK/reg$n.yaml"
  "$CTFLOW" submit "$WORK/reg$n.yaml" --wait > /dev/null
done
"$CTFLOW" deploy mnist --version 1

port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$root/$build/ctflow-serve" --model mnist --api "$BASE" --token-file "$TOKEN_FILE" \
  --cache-dir "$WORK/cache" --port "$port" 2> "$WORK/serve.log" &
SERVE=$!
EXTRA_CLEANUP="kill $SERVE"
SV="http://127.0.0.1:$port"
for _ in $(seq 1 600); do curl -sf "$SV/v2/health/ready" > /dev/null && break; sleep 0.1; done
curl -sf "$SV/v2/health/ready" > /dev/null || { cat "$WORK/serve.log" >&2; exit 1; }

version_now() { curl -s -X POST -H 'Content-Type: application/json' --data-binary @"$WORK/v2_1.json" \
  "$SV/v2/models/mnist/infer" | jq -r .model_version; }
counter() {  # version role
  curl -s "$SV/metrics" | awk -v k="ctflow_serve_requests_by_version_total{version=\"$1\",role=\"$2\"}" \
    '$1 == k {print $2; f=1} END {if (!f) print 0}'
}
now() { date +%s.%N; }

BODY=$WORK/v2_1.json wrk -t 2 -c "$CONNS" -d 600s --latency -s tests/bench/serve/post.lua "$SV" \
  > "$WORK/wrk.txt" 2>&1 &
WRK=$!
EXTRA_CLEANUP="kill $SERVE $WRK"
sleep 3

t0=$(now)
"$CTFLOW" deploy mnist --version 2 > /dev/null
while [ "$(version_now)" != 2 ]; do sleep 0.05; done
swap=$(echo "$(now) - $t0" | bc)
echo "deploy of version 2: answered by version 2 after $swap s"

"$CTFLOW" deploy mnist --version 3 --canary 10 > /dev/null
t0=$(now)
until curl -s "$SV/v2/models/mnist" | grep -q canary_version; do sleep 0.05; done
echo "canary version 3 at 10%: live after $(echo "$(now) - $t0" | bc) s"
c0=$(counter 3 canary); p0=$(counter 2 primary)
while :; do
  c=$(counter 3 canary); p=$(counter 2 primary)
  [ "$(echo "$c - $c0 + $p - $p0 >= $MIN_CANARY" | bc)" = 1 ] && break
  sleep 0.5
done
"$CTFLOW" deploy rollback mnist > /dev/null
c=$(counter 3 canary); p=$(counter 2 primary)
share=$(echo "scale=2; 100 * ($c - $c0) / ($c - $c0 + $p - $p0)" | bc)
echo "canary share: $(echo "$c - $c0" | bc) of $(echo "$c - $c0 + $p - $p0" | bc) requests = $share%"
t0=$(now)
while curl -s "$SV/v2/models/mnist" | grep -q canary_version; do sleep 0.05; done
echo "rollback: canary gone after $(echo "$(now) - $t0" | bc) s"
sleep 2
kill -INT "$WRK"; wait "$WRK" || true
result=$(grep '^RESULT' "$WORK/wrk.txt" || true)
echo "wrk ($CONNS connections, one image per request): $result"
errors=$(echo "$result" | sed -n 's/.*errors=\([0-9]*\).*/\1/p')
non2xx=$(grep -c 'Non-2xx' "$WORK/wrk.txt" || true)
ok=1
[ "${errors:-1}" = 0 ] && [ "$non2xx" = 0 ] || { echo "FAIL: errors=$errors, non-2xx lines=$non2xx"; ok=0; }
[ "$(echo "$swap < 5" | bc)" = 1 ] || { echo "FAIL: swap took $swap s"; ok=0; }
[ "$(echo "$share >= 7 && $share <= 13" | bc)" = 1 ] || { echo "FAIL: canary share $share%"; ok=0; }
[ "$ok" = 1 ] && echo "swap-serve: all checks passed"
[ "$ok" = 1 ]
