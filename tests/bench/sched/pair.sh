#!/usr/bin/env bash
# Paired A/B of two ctflow builds on the bench-sched graphs: both servers (each on its own
# throwaway cluster) stay up and the runs alternate A B A B ..., so that the machine's slow and
# fast minutes fall on both alike (separate invocations of run.sh differ by 30% on a noisy VM).
#   A=path/to/old/ctflow B=build/ctflow G=chain|fan N=1000 PAIRS=8 bash tests/bench/sched/pair.sh
# A_FLAGS / B_FLAGS: extra server flags for one side (e.g. B_FLAGS=--no-early-start, or
# "--max-parallel 32" with A=B: the same build both times; flags replace --max-parallel 16).
# PAUSE=1.5: a pause before each run (default none). Prints each pair (A s, B s, B/A) and the
# medians.
set -euo pipefail
cd "$(dirname "$0")/../../.."
N=${N:-1000}
PAIRS=${PAIRS:-8}
G=${G:-chain}
A=${A:?A=path of the baseline ctflow binary}
B=${B:-$PWD/build/ctflow}
. tests/lib/server_env.sh

declare -A WORKS URLS TOKENS SERVERS BINS
setup() {  # $1 = A or B, $2 = binary, $3 = extra server flags
  CTFLOW=$2
  start_cluster "pair$1" >/dev/null
  trap cleanup EXIT  # start_cluster set its own; both clusters are stopped by cleanup
  # shellcheck disable=SC2086
  start_server ${3:---max-parallel ${MAX_PARALLEL:-16}} </dev/null >/dev/null
  WORKS[$1]=$WORK URLS[$1]=$BASE TOKENS[$1]=$TOKEN_FILE SERVERS[$1]=$SERVER BINS[$1]=$2
}
cleanup() {
  for x in "${!SERVERS[@]}"; do
    kill "${SERVERS[$x]}" 2>/dev/null && wait "${SERVERS[$x]}" 2>/dev/null
    "${AS[@]}" "$PGBIN/pg_ctl" -D "${WORKS[$x]}/pg" -m immediate stop >/dev/null 2>&1
    [ -n "${KEEP_WORK:-}" ] || rm -rf "${WORKS[$x]}"
  done
  return 0
}
setup A "$A" "${A_FLAGS:-}"
setup B "$B" "${B_FLAGS:-}"
SPEC=${WORKS[A]}/graph.yaml
{
  echo "name: bench-$G"
  echo "tasks:"
  echo "  - {name: t1, run: [\"true\"]}"
  for i in $(seq 2 "$N"); do
    if [ "$G" = chain ]; then dep=t$((i - 1)); else dep=t1; fi
    echo "  - {name: t$i, needs: [$dep], run: [\"true\"]}"
  done
} >"$SPEC"
one() {  # $1 = A or B; prints wall seconds
  local t0 t1
  # PAUSE: seconds to wait first, so that each server's background work after a run (its spare
  # folders refill) ends before the other's run, as in run.sh.
  sleep "${PAUSE:-0}"
  t0=$(date +%s.%N)
  CTFLOW_URL=${URLS[$1]} CTFLOW_TOKEN_FILE=${TOKENS[$1]} "${BINS[$1]}" submit "$SPEC" --wait \
    >/dev/null 2>&1
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l
}
median() { sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
one A >/dev/null  # warm-up: stores the version, warms caches
one B >/dev/null
RA="" RB=""
for _ in $(seq 1 "$PAIRS"); do
  a=$(one A)
  b=$(one B)
  RA+="$a " RB+="$b "
  printf "%8.3f %8.3f %6.3f\n" "$a" "$b" "$(echo "$b / $a" | bc -l)"
done
ma=$(echo "$RA" | tr ' ' '\n' | grep . | median)
mb=$(echo "$RB" | tr ' ' '\n' | grep . | median)
printf "%s, %d tasks, median of %d pairs: A %.3f s, B %.3f s, B/A %.3f\n" "$G" "$N" "$PAIRS" \
  "$ma" "$mb" "$(echo "$mb / $ma" | bc -l)"
