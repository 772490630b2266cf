#!/usr/bin/env bash
# Runs the MNIST CT pipeline (examples/mnist-ct.yaml's steps) with ctflow-task alone, following
# the task contract the way the engine does: a fresh directory per task, an inputs document with
# every upstream task's outputs and artifact paths, CTFLOW_OUTPUTS/CTFLOW_METRICS files.
# Used by run.sh (the benchmark) and handy for trying the tasks without PostgreSQL.
#
#   pipeline.sh WORKDIR SOURCE [TRAIN FLAGS...]
# Env: CTFLOW_TASK_BIN (default build/ctflow-task), LOGICAL_DATE, DEPLOYED (a JSON value for
# inputs.models.mnist.deployed, default null), TIME=1 (each step under /usr/bin/time -v, report in
# NAME/time.txt), BASELINE_K (also run the raw-pixel kNN baseline with this k, as step "baseline").
set -euo pipefail
work=$1; source=$2; shift 2
bin=${CTFLOW_TASK_BIN:-build/ctflow-task}
bin=$(readlink -f "$bin")
logical_date=${LOGICAL_DATE:-2026-03-01T00:00:00Z}
deployed=${DEPLOYED:-null}
mkdir -p "$work"
work=$(readlink -f "$work")
echo '{}' > "$work/tasks.json"

# step NAME ARGV...: runs one task in $work/NAME and records its outputs for the next ones.
step() {
  local name=$1; shift
  local dir="$work/$name"
  rm -rf "$dir"; mkdir -p "$dir"
  jq -n --slurpfile t "$work/tasks.json" --arg date "$logical_date" --argjson dep "$deployed" \
    '{run: {id: "local", pipeline: "mnist-ct", pipeline_version: "local", logical_date: $date},
      params: {}, tasks: $t[0], models: {mnist: {deployed: $dep}}}' > "$dir/inputs.json"
  local start=$(date +%s.%N)
  (cd "$dir" && CTFLOW_RUN_ID=local CTFLOW_TASK=$name CTFLOW_ATTEMPT=1 CTFLOW_ARTIFACTS="$work" \
    CTFLOW_INPUTS="$dir/inputs.json" CTFLOW_OUTPUTS="$dir/outputs.json" \
    CTFLOW_METRICS="$dir/metrics.jsonl" ${TIME:+/usr/bin/time -v -o "$dir/time.txt"} "$bin" "$@" > "$dir/stdout.log" 2> "$dir/stderr.log") || {
    echo "step $name failed: $(tail -n 1 "$dir/stderr.log")" >&2; return 1; }
  local end=$(date +%s.%N)
  printf '%-16s %7.1f s\n' "$name" "$(echo "$end - $start" | bc)"
  jq --arg name "$name" --arg dir "$dir" --slurpfile o "$dir/outputs.json" \
    '.[$name] = {outputs: $o[0].outputs,
                 artifacts: ($o[0].artifacts | map_values(.path |= (if startswith("/") then . else $dir + "/" + . end)))}' \
    "$work/tasks.json" > "$work/tasks.json.new"
  mv "$work/tasks.json.new" "$work/tasks.json"
}

step extract extract --source "$source" --until "$logical_date"
step validate-data validate-data
step transform transform
step split split --seed 1
step train train "$@"
step evaluate evaluate --k 5
step validate-model validate-model --model mnist
step analyse analyse --top 8
step register register --model mnist --deploy production
if [ -n "${BASELINE_K:-}" ]; then step baseline evaluate --raw-pixels --k "$BASELINE_K"; fi
