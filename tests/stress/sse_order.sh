#!/usr/bin/env bash
# make stress-sse: one SSE follower of /api/v1/events while wrk submits runs as fast as it can
# (8 connections, SECONDS_EACH s) and the engine runs them; then every event id in the database
# must have reached the follower, in increasing order. Event ids commit out of order under
# concurrent writers; store::EventReader must neither skip nor reorder them.
set -euo pipefail
cd "$(dirname "$0")/../.."
CTFLOW=${CTFLOW:-$PWD/${BUILD:-build}/ctflow}
SECONDS_EACH=${SECONDS_EACH:-6}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
WORK=$(mktemp -d /tmp/ctflow-sse.XXXXXX)
chmod 755 "$WORK"
AS=()
if [ "$(id -u)" = 0 ]; then chown postgres "$WORK"; AS=(runuser -u postgres --); fi
command -v wrk >/dev/null || { echo "stress-sse: wrk not installed (apt-get install wrk)" >&2; exit 1; }
cleanup() { kill $CURL 2>/dev/null || true; kill -TERM $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; "${AS[@]}" $PGBIN/pg_ctl -D $WORK/pg -m immediate stop >/dev/null 2>&1; rm -rf $WORK; }
trap cleanup EXIT
"${AS[@]}" $PGBIN/initdb -D $WORK/pg -A trust -U ctflow --no-sync >/dev/null
"${AS[@]}" $PGBIN/pg_ctl -D $WORK/pg -l $WORK/pg.log -w -o "-c listen_addresses='' -k $WORK" start >/dev/null
"${AS[@]}" $PGBIN/createdb -h $WORK -U ctflow bench
psql_() { "${AS[@]}" $PGBIN/psql -h $WORK -U ctflow -d bench -qAt "$@"; }
URL="postgresql:///bench?host=$WORK&user=ctflow"
mkdir -p $WORK/data
$CTFLOW server --database-url "$URL" --data-dir $WORK/data --port 0 2>$WORK/server.log &
SERVER=$!
for _ in $(seq 1 100); do grep -q "API listening" $WORK/server.log && break; sleep 0.1; done
PORT=$(sed -n 's/.*API listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' $WORK/server.log)
TOK=$(cat $WORK/data/admin-token)
curl -sN -H "Authorization: Bearer $TOK" http://127.0.0.1:$PORT/api/v1/events > $WORK/sse.txt &
CURL=$!
sleep 0.5
wrk -t2 -c8 -d${SECONDS_EACH}s -H "Authorization: Bearer $TOK" -s tests/bench/api/submit.lua http://127.0.0.1:$PORT/api/v1/runs | grep Requests
# let the engine finish everything
for _ in $(seq 1 120); do n=$(psql_ -c "SELECT count(*) FROM runs WHERE state IN ('queued','running')"); [ "$n" = 0 ] && break; sleep 1; done
sleep 2
psql_ -c "SELECT id FROM events ORDER BY id" > $WORK/db_ids.txt
grep '^id: ' $WORK/sse.txt | cut -d' ' -f2 > $WORK/sse_ids.txt
echo "db events: $(wc -l < $WORK/db_ids.txt)  sse events: $(wc -l < $WORK/sse_ids.txt)  active runs left: $n"
sort -n -c -u $WORK/sse_ids.txt && echo "sse ids strictly increasing: ok"
diff <(sort -n $WORK/db_ids.txt) <(sort -n $WORK/sse_ids.txt) >/dev/null || { echo "stress-sse: the stream and the database differ:" >&2; diff <(sort -n $WORK/db_ids.txt) <(sort -n $WORK/sse_ids.txt) | head >&2; exit 1; }
echo "same sets: ok"
