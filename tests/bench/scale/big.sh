#!/usr/bin/env bash
# make bench-scale, part 1 (issue 22): one run of N `true` tasks (default 100,000: a fan-out of
# N/2 under one root, a join, then a chain of the rest; gen_spec.py) through a real
# `ctflow server` on PostgreSQL (fsync and synchronous_commit on). Prints the submission's time
# (POST /api/v1/runs, the spec's upload, parse, validation and the insert of every task and edge),
# the time to finish (runs.finished_at - created_at, from the database), the server's peak RSS
# (VmHWM), and the latency of the run page's requests at the end (REPEAT each, median and max):
# GET /api/v1/runs/{id} (the run and its tasks), ?tasks=false, and one task's detail.
# Exits 1 when a budget is missed: peak RSS 1 GiB, the run view 200 ms.
set -euo pipefail
cd "$(dirname "$0")/../../.."
N=${N:-100000}
FAN=${FAN:-$((N / 2))}
REPEAT=${REPEAT:-5}
CTFLOW=${CTFLOW:-$PWD/${BUILD:-build}/ctflow}
. tests/lib/server_env.sh
start_cluster bench-scale
start_server --max-parallel "${MAX_PARALLEL:-16}" ${SERVER_FLAGS:-}
AUTH="Authorization: Bearer $(cat "$TOKEN_FILE")"
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
hwm_mib() { awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$SERVER/status"; }
rss_mib() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$SERVER/status"; }

python3 tests/bench/scale/gen_spec.py "$N" "$FAN" >"$WORK/spec.yaml"
python3 -c 'import json,sys; print(json.dumps({"spec": open(sys.argv[1]).read()}))' \
  "$WORK/spec.yaml" >"$WORK/body.json"
echo "bench-scale: $N tasks (fan-out $FAN, chain $((N - FAN - 2))); spec $(stat -c %s "$WORK/spec.yaml") bytes; server RSS at start $(rss_mib) MiB"

t0=$(now)
reply=$(curl -sS -H "$AUTH" -H 'Content-Type: application/json' -X POST "$BASE/api/v1/runs" \
  --data-binary @"$WORK/body.json" -w '\n%{http_code}')
t1=$(now)
code=$(echo "$reply" | tail -1)
[ "$code" = 201 ] || { echo "bench-scale: submission answered $code: $(echo "$reply" | head -1 | cut -c1-300)" >&2; exit 1; }
RUN=$(echo "$reply" | head -1 | sed -n 's/.*"id":"\([0-9]*\)".*/\1/p')
printf 'submission: %.3f s (run %s); server peak RSS so far %s MiB\n' "$(echo "$t1 - $t0" | bc -l)" "$RUN" "$(hwm_mib)"

# Progress every 10 s until the run ends (LIMIT_S: give up).
state=
deadline=$(( $(date +%s) + ${LIMIT_S:-3600} ))
while [ "$(date +%s)" -lt "$deadline" ]; do
  row=$(psql_ -c "SELECT state, tasks_done FROM runs WHERE id = $RUN")
  state=${row%%|*}
  case "$state" in succeeded|failed|cancelled) break;; esac
  kill -0 "$SERVER" 2>/dev/null || { echo "bench-scale: the server exited" >&2; tail -5 "$WORK/server.log" >&2; exit 1; }
  echo "  $(date +%T) ${row#*|}/$N done, server RSS $(rss_mib) MiB"
  sleep 10
done
IFS='|' read -r state done total <<<"$(psql_ -c "SELECT state, tasks_done,
  extract(epoch FROM finished_at - created_at) FROM runs WHERE id = $RUN")"
printf 'finished: %s, %s tasks done, %.1f s from creation (%.0f tasks/s)\n' "$state" "$done" \
  "${total:-0}" "$(echo "${done:-0} / (${total:-1} + 0.001)" | bc -l)"
ran=$(psql_ -c "SELECT count(*) FROM task_attempts a JOIN task_runs t ON t.id = a.task_run_id WHERE t.run_id = $RUN")
echo "attempts recorded: $ran (tasks $N)"
HWM=$(hwm_mib)
echo "server peak RSS (VmHWM): $HWM MiB; now $(rss_mib) MiB"

# The run page's requests on the finished run.
lat() {  # URL -> "median_ms max_ms bytes"
  : >"$WORK/lat.txt"
  local bytes=0
  for _ in $(seq 1 "$REPEAT"); do
    curl -sS -o "$WORK/lat.body" -H "$AUTH" -w '%{time_total} %{size_download} %{http_code}\n' "$1" >"$WORK/lat.one"
    read -r t bytes code <"$WORK/lat.one"
    [ "$code" = 200 ] || { echo "bench-scale: $1 answered $code" >&2; exit 1; }
    echo "$t * 1000" | bc -l >>"$WORK/lat.txt"
  done
  echo "$(median <"$WORK/lat.txt") $(sort -g "$WORK/lat.txt" | tail -1) $bytes"
}
fail=0
W=$(python3 -c "print(len(str(max($FAN, $N - $FAN - 2))))")
for path in "runs/$RUN" "runs/$RUN?tasks=false" "runs/$RUN/tasks/join" "runs/$RUN/tasks/f$(printf "%0${W}d" 0)"; do
  read -r med max bytes <<<"$(lat "$BASE/api/v1/$path")"
  printf '  GET /api/v1/%-28s median %8.1f ms  max %8.1f ms  %10s bytes  (%d requests)\n' "$path" "$med" "$max" "$bytes" "$REPEAT"
  [ "$(echo "$med > 200" | bc -l)" = 1 ] && fail=1
done
echo "server peak RSS after the run view: $(hwm_mib) MiB"
[ "$(echo "$(hwm_mib) > 1024" | bc -l)" = 1 ] && { echo "bench-scale: peak RSS over 1 GiB" >&2; fail=1; }
[ "$state" = succeeded ] || fail=1
exit $fail
