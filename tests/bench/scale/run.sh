#!/usr/bin/env bash
# make bench-scale (issue 22): big.sh (one run of N tasks, default 100,000) then replicas.sh
# (RUNS small runs on REPLICAS servers sharing one database, against one server). Their
# variables pass through (N, FAN, REPEAT, RUNS, PIPELINES, REPLICAS, PARALLEL, MAX_PARALLEL).
# Exits 1 when either misses a budget or finds a double or missing execution.
set -uo pipefail
cd "$(dirname "$0")/../../.."
fail=0
bash tests/bench/scale/big.sh || fail=1
bash tests/bench/scale/replicas.sh || fail=1
exit $fail
