#!/usr/bin/env bash
# `make demo`: start `ctflow up` (embedded PostgreSQL), submit examples/hello.yaml and
# examples/mnist-ct.yaml (its synthetic source), follow them live, then print the dashboard's
# login link and keep serving until Ctrl-C. The data dir is reused across runs (default
# $CTFLOW_HOME or ~/.local/share/ctflow). DEMO_EXIT=1 stops the server at once after the runs
# (for scripts); DEMO_KEEP=1 leaves it running in the background; DEMO_MNIST=0 skips mnist-ct
# (it needs build/ctflow-task).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${CTFLOW_HOME:-$HOME/.local/share/ctflow}
PORT=${CTFLOW_PORT:-8080}
mkdir -p "$DATA"
LOG="$DATA/demo-server.log"
./build/ctflow up --data-dir "$DATA" --port "$PORT" >"$LOG" 2>&1 &
SERVER=$!
stop() {
  if kill -0 "$SERVER" 2>/dev/null; then
    kill -TERM "$SERVER"
    wait "$SERVER" || true
  fi
}
if [ "${DEMO_KEEP:-0}" != 1 ]; then trap stop EXIT; trap 'exit 130' INT TERM; fi
for _ in $(seq 1 300); do
  if grep -q "API listening" "$LOG"; then break; fi
  if ! kill -0 "$SERVER" 2>/dev/null; then
    echo "ctflow up failed:" >&2
    cat "$LOG" >&2
    exit 1
  fi
  sleep 0.2
done
grep "API listening" "$LOG" || { echo "ctflow up did not start in 60 s; see $LOG" >&2; exit 1; }
export CTFLOW_URL="http://127.0.0.1:$PORT" CTFLOW_TOKEN_FILE="$DATA/admin-token"
echo "submitting examples/hello.yaml ..."
set +e
./build/ctflow submit examples/hello.yaml --wait
rc=$?
set -e
RUN=$(./build/ctflow runs --limit 1 -o json | sed -n 's/.*"id":"\([0-9]*\)".*/\1/p' | head -1)
./build/ctflow run "$RUN"
if [ "${DEMO_MNIST:-1}" != 0 ] && [ -x build/ctflow-task ]; then
  echo
  echo "submitting examples/mnist-ct.yaml (synthetic digits: extract, tune (a study), train, register, deploy) ..."
  set +e
  ./build/ctflow submit examples/mnist-ct.yaml --wait
  mrc=$?
  set -e
  [ "$rc" = 0 ] && rc=$mrc
fi
echo
echo "API: $CTFLOW_URL (token in $DATA/admin-token); server log: $LOG"
LINK=$(grep -o 'http://[^ ]*#token=[^ ]*' "$LOG" | tail -1 || true)
if [ -n "$LINK" ]; then
  echo "dashboard (runs, the study, the model's lineage): $LINK"
else
  echo "dashboard: $CTFLOW_URL/ (not built? run make)"
fi
if [ "${DEMO_KEEP:-0}" = 1 ]; then
  echo "server left running (pid $SERVER); stop it with: kill $SERVER"
elif [ "${DEMO_EXIT:-0}" = 1 ]; then
  echo "stopping the server (DEMO_EXIT=1)"
else
  echo "serving until Ctrl-C (DEMO_EXIT=1 make demo stops at once)"
  wait "$SERVER" || true
fi
exit $rc
