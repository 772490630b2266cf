#!/usr/bin/env bash
# make bench-api: wrk against a real `ctflow server` on PostgreSQL (synchronous_commit on, fsync
# on) holding RUNS runs: GET /api/v1/runs?limit=50 and run submission (submit.lua). Each wrk run
# lasts SECONDS with CONNS connections; REPEAT runs each; prints every run and the medians of
# requests/s, p50 and p99, and checks that every 2xx submission is a stored run.
set -euo pipefail
cd "$(dirname "$0")/../../.."
RUNS=${RUNS:-10000}
REPEAT=${REPEAT:-3}
SECONDS_EACH=${SECONDS_EACH:-10}
CONNS=${CONNS:-8}
CTFLOW=${CTFLOW:-$PWD/${BUILD:-build}/ctflow}
command -v wrk >/dev/null || { echo "bench-api: wrk not installed (apt-get install wrk)" >&2; exit 1; }
. tests/lib/server_env.sh
start_cluster bench-api
start_server
AUTH="Authorization: Bearer $(cat "$TOKEN_FILE")"

# RUNS finished runs of one pipeline version (created by one real submission), in one statement.
curl -sf -H "$AUTH" -H 'Content-Type: application/json' -X POST "$BASE/api/v1/runs" \
  -d '{"spec": "name: bench-list\ntasks:\n  - {name: a, run: [\"true\"]}\n"}' >/dev/null
psql_ -c "INSERT INTO runs(pipeline_id, pipeline_version_id, state, params, trigger, tasks_total,
            tasks_done, created_at, started_at, finished_at)
          SELECT v.pipeline_id, v.id, (ARRAY['succeeded','failed','cancelled'])[1 + g % 3],
                 jsonb_build_object('i', g), 'api', 1, 1,
                 now() - (($RUNS - g) * interval '1 second'),
                 now() - (($RUNS - g) * interval '1 second'), now()
          FROM pipeline_versions v, generate_series(1, $RUNS - 1) g" \
  -c "ANALYZE"
echo "database: $(psql_ -c 'SELECT count(*) FROM runs') runs; server $BASE; wrk -t2 -c$CONNS -d${SECONDS_EACH}s"

# One wrk run -> "req_per_s p50_ms p99_ms requests non2xx"
wrk_once() {
  local out
  out=$(wrk -t2 -c"$CONNS" -d"${SECONDS_EACH}s" --latency -H "$AUTH" "$@")
  echo "$out" >>"$WORK/wrk.log"
  ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) print v / 1000; else if (v ~ /ms$/) print v + 0;
                               else if (v ~ /s$/) print v * 1000; else print v }'; }
  local rps p50 p99 n bad
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(ms "$(echo "$out" | awk '$1 == "50%" {print $2}')")
  p99=$(ms "$(echo "$out" | awk '$1 == "99%" {print $2}')")
  n=$(echo "$out" | awk '/requests in/ {print $1}')
  bad=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  echo "$rps $p50 $p99 $n ${bad:-0}"
}
median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

bench() {  # NAME, wrk args...
  local name=$1; shift
  : >"$WORK/$name.txt"
  for i in $(seq 1 "$REPEAT"); do
    r=$(wrk_once "$@")
    echo "$r" >>"$WORK/$name.txt"
    set -- "$@"
    read -r rps p50 p99 n bad <<<"$r"
    printf '  %-8s run %d: %9.1f req/s  p50 %7.2f ms  p99 %7.2f ms  (%s requests, %s non-2xx)\n' \
      "$name" "$i" "$rps" "$p50" "$p99" "$n" "$bad"
  done
  printf '%-8s median: %9.1f req/s  p50 %7.2f ms  p99 %7.2f ms\n' "$name" \
    "$(cut -d' ' -f1 "$WORK/$name.txt" | median)" "$(cut -d' ' -f2 "$WORK/$name.txt" | median)" \
    "$(cut -d' ' -f3 "$WORK/$name.txt" | median)"
}

bench list "$BASE/api/v1/runs?limit=50"
before=$(psql_ -c 'SELECT count(*) FROM runs')
bench submit -s tests/bench/api/submit.lua "$BASE/api/v1/runs"
after=$(psql_ -c 'SELECT count(*) FROM runs')
ok=$(awk '{s += $4 - $5} END {print s}' "$WORK/submit.txt")
echo "submissions answered 2xx: $ok; runs stored: $((after - before))"
# Requests in flight when wrk stops are stored but not counted by wrk: stored >= accepted.
[ "$((after - before))" -ge "$ok" ] || { echo "bench-api: fewer runs stored than submissions accepted" >&2; exit 1; }
