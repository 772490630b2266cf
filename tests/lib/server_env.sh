# Sourced by the benchmark and stress scripts: a throwaway PostgreSQL cluster (Unix socket only,
# fsync and synchronous_commit on; run as user postgres when root) and one `ctflow server` on it.
#   start_cluster NAME      sets WORK (removed on exit), PGBIN, AS, URL; defines psql_
#   start_server ARGS...    starts $CTFLOW server (extra ARGS), sets SERVER, PORT, BASE, TOKEN_FILE
# EXTRA_CLEANUP (a command) runs first on exit, e.g. to stop a client the script started.
# KEEP_WORK=1 leaves WORK on disk (the cluster stopped). On ext4 without a journal the kernel
# skips inodes freed in the last 60 s (up to 6 min while their blocks are dirty) when it
# allocates one, so deleting a big WORK slows every file the next benchmark creates.

start_cluster() {
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  WORK=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/ctflow-$1.XXXXXX")
  chmod 755 "$WORK"
  AS=()
  if [ "$(id -u)" = 0 ]; then chown postgres "$WORK"; AS=(runuser -u postgres --); fi
  trap _server_env_cleanup EXIT
  "${AS[@]}" "$PGBIN/initdb" -D "$WORK/pg" -A trust -U ctflow --no-sync >/dev/null
  "${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w \
    -o "-c listen_addresses='' -k $WORK -c synchronous_commit=on -c fsync=on" start >/dev/null
  "${AS[@]}" "$PGBIN/createdb" -h "$WORK" -U ctflow bench
  URL="postgresql:///bench?host=$WORK&user=ctflow"
}

psql_() { "${AS[@]}" "$PGBIN/psql" -h "$WORK" -U ctflow -d bench -qAt -v ON_ERROR_STOP=1 "$@"; }

start_server() {
  mkdir -p "$WORK/data"
  "$CTFLOW" server --database-url "$URL" --data-dir "$WORK/data" --port 0 "$@" \
    2>"$WORK/server.log" &
  SERVER=$!
  for _ in $(seq 1 200); do grep -q "API listening" "$WORK/server.log" && break; sleep 0.1; done
  PORT=$(sed -n 's/.*API listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$WORK/server.log")
  [ -n "$PORT" ] || { cat "$WORK/server.log" >&2; exit 1; }
  BASE="http://127.0.0.1:$PORT"
  TOKEN_FILE="$WORK/data/admin-token"
}

_server_env_cleanup() {
  [ -n "${EXTRA_CLEANUP:-}" ] && eval "$EXTRA_CLEANUP" >/dev/null 2>&1
  [ -n "${SERVER:-}" ] && kill -TERM "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
  "${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1
  if [ -n "${KEEP_WORK:-}" ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
  return 0
}
