#!/usr/bin/env bash
# make bench-scale, part 2 (issue 22): RUNS small runs (default 1,000) of PIPELINES pipelines
# (default 50), submitted at once (PARALLEL clients, round robin over the replicas) to
# REPLICAS `ctflow server` processes sharing one PostgreSQL database, then the same with one
# server. submit.py stores the pipelines and submits (keep-alive connections, PARALLEL threads). Each run is a diamond of 4 tasks (a -> b, c -> d); each task appends
# "RUN TASK ATTEMPT" to one file, so a task that ran twice shows as two lines (its own side
# effect, not the database's word). Prints for each setting: tasks/s (tasks / (last run's end -
# first run's creation)), the claim latency (from the database: a task becomes ready when its
# last parent's finish commits, or at its run's creation for a root; it is claimed when its
# attempt row is inserted) p50/p99/max, and the side-effect counts. Exits 1 on any double or
# missing execution, or a run that did not succeed.
set -euo pipefail
cd "$(dirname "$0")/../../.."
RUNS=${RUNS:-1000}
PIPELINES=${PIPELINES:-50}
REPLICAS=${REPLICAS:-3}
PARALLEL=${PARALLEL:-16}
MAX_PARALLEL=${MAX_PARALLEL:-16}
CTFLOW=${CTFLOW:-$PWD/${BUILD:-build}/ctflow}
. tests/lib/server_env.sh

# One setting: $1 replicas on a fresh database. Prints one summary line, "R tasks/s p50 p99".
one() {
  local n=$1 i
  start_cluster "bench-scale-$n"
  SERVERS=() BASES=() TOKENS=()
  for i in $(seq 1 "$n"); do
    mkdir -p "$WORK/data$i"
    "$CTFLOW" server --database-url "$URL" --data-dir "$WORK/data$i" --port 0 \
      --max-parallel "$MAX_PARALLEL" ${SERVER_FLAGS:-} 2>"$WORK/server$i.log" &
    SERVERS+=($!)
  done
  EXTRA_CLEANUP='for p in "${SERVERS[@]}"; do kill -TERM $p; done; for p in "${SERVERS[@]}"; do wait $p; done'
  for i in $(seq 1 "$n"); do
    for _ in $(seq 1 300); do grep -q "API listening" "$WORK/server$i.log" && break; sleep 0.1; done
    local port
    port=$(sed -n 's/.*API listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$WORK/server$i.log")
    [ -n "$port" ] || { cat "$WORK/server$i.log" >&2; exit 1; }
    BASES+=("http://127.0.0.1:$port")
    TOKENS+=("$(cat "$WORK/data$i/admin-token")")
  done
  local side="$WORK/side-effects.txt"
  : >"$side"
  chmod 666 "$side"
  local servers=() t
  for i in $(seq 0 $((n - 1))); do servers+=("${BASES[i]}=${TOKENS[i]}"); done
  t=$(python3 tests/bench/scale/submit.py "$side" "$PIPELINES" "$RUNS" "$PARALLEL" "${servers[@]}")
  local stored
  stored=$(psql_ -c "SELECT count(*) FROM runs")
  [ "$stored" = "$RUNS" ] || { echo "bench-scale: $stored runs stored of $RUNS" >&2; exit 1; }
  local deadline=$(( $(date +%s) + ${LIMIT_S:-1200} ))
  while [ "$(psql_ -c "SELECT count(*) FROM runs WHERE state IN ('queued','running')")" != 0 ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "bench-scale: runs still active after ${LIMIT_S:-1200} s" >&2; exit 1; }
    sleep 1
  done
  local ok span tasks
  ok=$(psql_ -c "SELECT count(*) FROM runs WHERE state = 'succeeded'")
  span=$(psql_ -c "SELECT extract(epoch FROM max(finished_at) - min(created_at)) FROM runs")
  tasks=$(psql_ -c "SELECT count(*) FROM task_runs WHERE state = 'succeeded'")
  # Claim latency: ready (the last parent's finish, or the run's creation) -> first attempt row.
  local lat
  lat=$(psql_ -F' ' -c "
    WITH ready AS (
      SELECT t.id, coalesce(max(p.finished_at), min(r.created_at)) AS ready_at
      FROM task_runs t JOIN runs r ON r.id = t.run_id
      LEFT JOIN task_edges e ON e.child_id = t.id LEFT JOIN task_runs p ON p.id = e.parent_id
      GROUP BY t.id),
    claimed AS (SELECT task_run_id, min(started_at) AS claimed_at FROM task_attempts GROUP BY 1),
    l AS (SELECT greatest(0, extract(epoch FROM c.claimed_at - ready.ready_at) * 1000) AS ms
          FROM ready JOIN claimed c ON c.task_run_id = ready.id)
    SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1),
           round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1),
           round(max(ms)::numeric, 1), count(*) FROM l")
  # Side effects: each (run, task) line exactly once.
  local lines dup missing
  lines=$(wc -l <"$side")
  dup=$(awk '{print $1, $2}' "$side" | sort | uniq -d | wc -l)
  missing=$((RUNS * 4 - $(awk '{print $1, $2}' "$side" | sort -u | wc -l)))
  local per
  per=$(psql_ -c "SELECT string_agg(c::text, ' ') FROM (SELECT count(*) AS c FROM task_attempts
                                                        GROUP BY owner ORDER BY owner) x")
  local rss=""
  for p in "${SERVERS[@]}"; do rss+="$(awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$p/status") "; done
  printf '%d replica(s): %d runs submitted in %.2f s; %d/%d succeeded; %d tasks in %.2f s = %.1f tasks/s\n' \
    "$n" "$RUNS" "$t" "$ok" "$RUNS" "$tasks" "$span" "$(echo "$tasks / $span" | bc -l)"
  read -r p50 p99 max cnt <<<"$lat"
  echo "  claim latency over $cnt tasks: p50 $p50 ms, p99 $p99 ms, max $max ms"
  echo "  attempts by replica: $per; peak RSS (MiB): $rss"
  echo "  side effects: $lines lines, $dup (run, task) pairs twice or more, $missing missing"
  echo "$n $(echo "$tasks / $span" | bc -l) $p50 $p99" >>"$RESULTS"
  local bad=0
  [ "$dup" = 0 ] && [ "$missing" = 0 ] && [ "$ok" = "$RUNS" ] || bad=1
  _server_env_cleanup
  SERVERS=()
  trap - EXIT
  return $bad
}

RESULTS=$(mktemp)
fail=0
echo "bench-scale: $RUNS runs of $PIPELINES pipelines (4 tasks each), $PARALLEL clients, --max-parallel $MAX_PARALLEL a server"
( one "$REPLICAS" ) || fail=1
( one 1 ) || fail=1
awk 'NR == 1 {n = $1; r = $2} NR == 2 {printf "tasks/s: %d replicas %.1f, 1 replica %.1f (%.2fx)\n", n, r, $2, r / $2}' "$RESULTS"
rm -f "$RESULTS"
exit $fail
