#!/usr/bin/env bash
# make stress-sse: one SSE follower of /api/v1/events while wrk submits runs as fast as it can
# (8 connections, SECONDS_EACH s) and the engine runs them; then every event id in the database
# must have reached the follower, in increasing order. Event ids commit out of order under
# concurrent writers; store::EventReader must neither skip nor reorder them.
set -euo pipefail
cd "$(dirname "$0")/../.."
CTFLOW=${CTFLOW:-$PWD/${BUILD:-build}/ctflow}
SECONDS_EACH=${SECONDS_EACH:-6}
command -v wrk >/dev/null || { echo "stress-sse: wrk not installed (apt-get install wrk)" >&2; exit 1; }
. tests/lib/server_env.sh
start_cluster stress-sse
start_server
TOK=$(cat "$TOKEN_FILE")
EXTRA_CLEANUP='kill $CURL'
curl -sN -H "Authorization: Bearer $TOK" $BASE/api/v1/events > $WORK/sse.txt &
CURL=$!
sleep 0.5
wrk -t2 -c8 -d${SECONDS_EACH}s -H "Authorization: Bearer $TOK" -s tests/bench/api/submit.lua $BASE/api/v1/runs | grep Requests
# let the engine finish everything
for _ in $(seq 1 120); do n=$(psql_ -c "SELECT count(*) FROM runs WHERE state IN ('queued','running')"); [ "$n" = 0 ] && break; sleep 1; done
sleep 2
psql_ -c "SELECT id FROM events ORDER BY id" > $WORK/db_ids.txt
grep '^id: ' $WORK/sse.txt | cut -d' ' -f2 > $WORK/sse_ids.txt
echo "db events: $(wc -l < $WORK/db_ids.txt)  sse events: $(wc -l < $WORK/sse_ids.txt)  active runs left: $n"
sort -n -c -u $WORK/sse_ids.txt && echo "sse ids strictly increasing: ok"
diff <(sort -n $WORK/db_ids.txt) <(sort -n $WORK/sse_ids.txt) >/dev/null || { echo "stress-sse: the stream and the database differ:" >&2; diff <(sort -n $WORK/db_ids.txt) <(sort -n $WORK/sse_ids.txt) | head >&2; exit 1; }
echo "same sets: ok"
