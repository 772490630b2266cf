#!/usr/bin/env bash
# `make demo`: start `ctflow up` (embedded PostgreSQL), submit examples/hello.yaml, follow it live.
# The data dir is reused across runs (default $CTFLOW_HOME or ~/.local/share/ctflow). The server
# is stopped at the end unless DEMO_KEEP=1 (then it keeps running; stop it with Ctrl-C or kill).
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
if [ "${DEMO_KEEP:-0}" != 1 ]; then trap stop EXIT; fi
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
echo
echo "API: $CTFLOW_URL (token in $DATA/admin-token); server log: $LOG"
if [ "${DEMO_KEEP:-0}" = 1 ]; then
  echo "server left running (pid $SERVER); stop it with: kill $SERVER"
else
  echo "stopping the server (DEMO_KEEP=1 make demo leaves it running)"
fi
exit $rc
