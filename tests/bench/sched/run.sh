#!/usr/bin/env bash
# make bench-sched: 1000 no-op tasks (`true`) as a chain and as a fan-out, through a real
# `ctflow server` and PostgreSQL (synchronous_commit on, fsync on), against GNU make running the
# same two graphs in the same script. Prints medians of REPEAT runs and the ratios.
set -euo pipefail
cd "$(dirname "$0")/../../.."
N=${N:-1000}
REPEAT=${REPEAT:-5}
CTFLOW=${CTFLOW:-$PWD/build/ctflow}
. tests/lib/server_env.sh
start_cluster bench-sched
start_server --max-parallel "${MAX_PARALLEL:-16}" ${SERVER_FLAGS:-}  # SERVER_FLAGS: e.g. --no-early-start, for an A/B
export CTFLOW_URL="$BASE" CTFLOW_TOKEN_FILE="$TOKEN_FILE"

# The two graphs, for ctflow and for make.
{
  echo "name: bench-chain"
  echo "tasks:"
  echo "  - {name: t1, run: [\"true\"]}"
  for i in $(seq 2 "$N"); do echo "  - {name: t$i, needs: [t$((i - 1))], run: [\"true\"]}"; done
} >"$WORK/chain.yaml"
{
  echo "name: bench-fan"
  echo "tasks:"
  echo "  - {name: t1, run: [\"true\"]}"
  for i in $(seq 2 "$N"); do echo "  - {name: t$i, needs: [t1], run: [\"true\"]}"; done
} >"$WORK/fan.yaml"
{
  echo ".PHONY: all $(seq -f 't%g' 1 "$N" | tr '\n' ' ')"
  echo "all: t$N"
  echo "t1: ; @true"
  for i in $(seq 2 "$N"); do echo "t$i: t$((i - 1)) ; @true"; done
} >"$WORK/chain.mk"
{
  echo ".PHONY: all $(seq -f 't%g' 1 "$N" | tr '\n' ' ')"
  echo "all: $(seq -f 't%g' 2 "$N" | tr '\n' ' ')"
  echo "t1: ; @true"
  for i in $(seq 2 "$N"); do echo "t$i: t1 ; @true"; done
} >"$WORK/fan.mk"

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

run_ctflow() {  # $1 = spec; prints wall seconds from submit to the run's end
  local t0 t1
  t0=$(now)
  "$CTFLOW" submit "$1" --wait >/dev/null 2>"$WORK/submit.err" || { cat "$WORK/submit.err" >&2; exit 1; }
  t1=$(now)
  echo "$t1 - $t0" | bc -l
}
run_make() {  # $1 = makefile, $2 = -j
  local t0 t1
  # The server's background work after a run (its spare folders refill at SCHED_IDLE) ends
  # first, so that make has the machine to itself.
  sleep 1
  t0=$(now)
  make -s -j"$2" -f "$1" >/dev/null
  t1=$(now)
  echo "$t1 - $t0" | bc -l
}

run_ctflow "$WORK/chain.yaml" >/dev/null  # warm-up (stores the versions, warms caches)
run_ctflow "$WORK/fan.yaml" >/dev/null
# The CPU time the hypervisor took from this VM while the runs went on (/proc/stat "steal"): on
# a shared host it comes and goes by the minute and slows ctflow (two cores busy) more than make.
cpu_stat() { head -1 /proc/stat; }
STAT0=($(cpu_stat))
declare -A S
for _ in $(seq 1 "$REPEAT"); do
  S[mk_chain]+="$(run_make "$WORK/chain.mk" 1) "
  S[ct_chain]+="$(run_ctflow "$WORK/chain.yaml") "
  S[mk_fan]+="$(run_make "$WORK/fan.mk" 2) "
  S[ct_fan]+="$(run_ctflow "$WORK/fan.yaml") "
done
m() { echo "${S[$1]}" | tr ' ' '\n' | grep . | median; }
STAT1=($(cpu_stat))
TOTAL=0
for i in 1 2 3 4 5 6 7 8; do TOTAL=$((TOTAL + STAT1[i] - STAT0[i])); done
printf "%-8s %-10s %12s %12s %8s   (median of %d, %d tasks)\n" graph "" "make s" "ctflow s" ratio "$REPEAT" "$N"
for g in chain fan; do
  mk=$(m "mk_$g"); ct=$(m "ct_$g")
  printf "%-8s %-10s %12.3f %12.3f %7.2fx\n" "$g" "" "$mk" "$ct" "$(echo "$ct / $mk" | bc -l)"
done
echo "steal: $((100 * (STAT1[8] - STAT0[8]) / (TOTAL > 0 ? TOTAL : 1)))% of the CPU time during the runs (taken by the host)"
# The local executor alone (no database): N `true` one after another through the supervisor,
# against raw posix_spawn + waitpid in the same process.
EXEC_CHAIN=${EXEC_CHAIN:-$(dirname "$CTFLOW")/exec-chain}
[ -x "$EXEC_CHAIN" ] && "$EXEC_CHAIN" "$CTFLOW" "$WORK/exec-chain" "$N"
echo "raw make chain: ${S[mk_chain]}"
echo "raw ctflow chain: ${S[ct_chain]}"
echo "raw make fan: ${S[mk_fan]}"
echo "raw ctflow fan: ${S[ct_fan]}"
