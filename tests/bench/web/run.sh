#!/usr/bin/env bash
# make bench-web (issue 20, acceptance 3): the dashboard in headless Chromium against a real
# `ctflow server` on PostgreSQL holding RUNS runs (inserted in one statement), a run of 5,000
# tasks (a fan-out of 4,000 between a root and a chain of 1,000) and a pipeline of 1,000 tasks
# with 25 runs (both run by the engine). Prints the time to the Runs page's first rows, to the
# big run's graph, a click's answer on it, and to the grid; and the initial route's JavaScript
# (gzip). REPEAT measurements each, medians; exits 1 when a budget is missed.
set -euo pipefail
cd "$(dirname "$0")/../../.."
RUNS=${RUNS:-100000}
CTFLOW=${CTFLOW:-$PWD/${BUILD:-build}/ctflow}
[ -f web/dist/index.html ] || { echo "bench-web: web/dist is not built (make)" >&2; exit 1; }
. tests/lib/server_env.sh
start_cluster bench-web
start_server --max-parallel 8
AUTH="Authorization: Bearer $(cat "$TOKEN_FILE")"
post() { printf '%s' "$2" | curl -sf -H "$AUTH" -H 'Content-Type: application/json' -X POST "$BASE$1" --data-binary @-; }
wait_run() {
  for _ in $(seq 1 1200); do
    s=$(curl -sf -H "$AUTH" "$BASE/api/v1/runs/$1?tasks=false" | sed -n 's/.*"state":"\([a-z]*\)".*/\1/p')
    case "$s" in succeeded|failed|cancelled) echo "$s"; return;; esac
    sleep 0.5
  done
  echo timeout
}

echo "bench-web: $RUNS runs ..."
post /api/v1/runs '{"spec": "name: bench-list\ntasks:\n  - {name: a, run: [\"true\"]}\n"}' >/dev/null
psql_ -c "INSERT INTO runs(pipeline_id, pipeline_version_id, state, params, trigger, tasks_total,
            tasks_done, created_at, started_at, finished_at)
          SELECT v.pipeline_id, v.id, (ARRAY['succeeded','failed','cancelled'])[1 + g % 3],
                 jsonb_build_object('i', g), (ARRAY['api','schedule','backfill'])[1 + g % 3], 1, 1,
                 now() - (($RUNS - g) * interval '1 second'),
                 now() - (($RUNS - g) * interval '1 second'), now()
          FROM pipeline_versions v, generate_series(1, $RUNS - 1) g" -c "ANALYZE"

# 5,000 tasks: root -> shard-0000..3999 -> merge -> c0001 -> ... -> c0999.
python3 - > "$WORK/big.json" <<'PY'
import json
t = [{"name": "root", "run": ["true"]}]
t += [{"name": f"shard-{i:04d}", "needs": ["root"], "run": ["true"]} for i in range(4000)]
t.append({"name": "merge", "needs": [f"shard-{i:04d}" for i in range(4000)], "run": ["true"]})
prev = "merge"
for i in range(1, 1000):
    t.append({"name": f"c{i:04d}", "needs": [prev], "run": ["true"]}); prev = f"c{i:04d}"
print(json.dumps({"spec": json.dumps({"name": "bench-big", "tasks": t})}))
PY
BIG_RUN=$(curl -sf -H "$AUTH" -H 'Content-Type: application/json' -X POST "$BASE/api/v1/runs" --data-binary @"$WORK/big.json" | sed -n 's/.*"id":"\([0-9]*\)".*/\1/p')
echo "bench-web: run $BIG_RUN of 5,000 tasks: $(wait_run "$BIG_RUN")"

# 1,000 tasks, 25 runs: 10 chains of 100 under one root.
GRID=$(python3 - <<'PY'
import json
t = [{"name": "start", "run": ["true"]}]
for c in range(10):
    prev = "start"
    for i in range(1, 101 if c else 100):
        n = f"s{c}-{i:03d}"; t.append({"name": n, "needs": [prev], "run": ["true"]}); prev = n
print(json.dumps({"spec": json.dumps({"name": "bench-grid", "tasks": t})}))
PY
)
post /api/v1/pipelines "$GRID" >/dev/null
last=
for _ in $(seq 1 25); do last=$(post /api/v1/pipelines/bench-grid/runs '{}' | sed -n 's/.*"id":"\([0-9]*\)".*/\1/p'); done
echo "bench-web: 25 runs of bench-grid (1,000 tasks each): last $(wait_run "$last")"

node web/bench/bench.mjs "$BASE" "$(cat "$TOKEN_FILE")" "$BIG_RUN" bench-grid
