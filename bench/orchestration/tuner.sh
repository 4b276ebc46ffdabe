#!/usr/bin/env bash
# Benchmark for the pipeline on an orchestrator with the Tuner fanned out (issue 19). Not a
# test: run by hand.
#
#   bash bench/orchestration/tuner.sh        # RUNS=3 ROWS=200000
#
# The taxi pipeline with a 16-trial random Tuner (seed 0) on ROWS rows of the scaled taxi file
# (../shared/bench/make_big_taxi.py), exported with `mlops pipeline export --to argo` and run as
# Argo would run it (Tests/Tools/run_export.py: every task `mlops component run` in a fresh
# clone, the trials a withItems task), sharing only moto's S3 (cache and registry):
# 1. with 1 worker: one task at a time (one machine);
# 2. with 2 workers: two tasks at a time (two processes standing in for two machines), so the
#    trials go two by two;
# and, for reference, the same commit as one process (`mlops release`: train, gate, release).
# Each run starts from an empty cache prefix, so every task computes. Reports the median wall
# times and the ratio 1 worker / 2 workers.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="${BENCH_DIR:-/tmp/mlops-bench-orchestration}"
runs="${RUNS:-3}"
rows="${ROWS:-200000}"
mkdir -p "$work"
[ -n "${MLOPS_BENCH_NO_BUILD:-}" ] || (cd "$root" && swift build -c release --product mlops --static-swift-stdlib \
  --scratch-path .build-static >/dev/null)
mlops="$root/.build-static/release/mlops"
tools="$root/.build/ci-tools"
[ -x "$tools/bin/moto_server" ] || { echo "run bash .ci/run once first (it installs moto into $tools)" >&2; exit 1; }
gitc() { git -c user.name=bench -c user.email=bench@mlops.invalid -c init.defaultBranch=main "$@"; }

s3_python="$tools/bin/python" s3_buckets="bench-cache bench-models"
. "$root/bench/s3-server.sh"

# The project: the template with ROWS rows and the Tuner on, committed.
rm -rf "$work/origin"
"$mlops" init "$work/origin" >/dev/null
python3 "$root/../shared/bench/make_big_taxi.py" --rows "$rows" --out "$work/origin/data/data.csv" >/dev/null
python3 - "$work/origin/mlops.yaml" <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
text = text.replace("  hyperparameters:                   # or `from_tuner` with the tuner section below\n"
                    "    max_depth: 6\n    eta: 0.1\n    tree_method: hist\n", "  hyperparameters: from_tuner\n")
text = text.replace("# tuner:\n#   strategy: random                 # or grid\n#   trials: 12\n#   seed: 0\n"
                    "#   search_space:\n#     max_depth: {type: int, min: 3, max: 8}\n"
                    "#     eta: {type: float, min: 0.03, max: 0.3, log: true}\n"
                    "#     tree_method: {type: choice, values: [hist]}\n",
                    "tuner:\n  strategy: random\n  trials: 16\n  seed: 0\n  search_space:\n"
                    "    max_depth: {type: int, min: 3, max: 8}\n    eta: {type: float, min: 0.03, max: 0.3, log: true}\n"
                    "    tree_method: {type: choice, values: [hist]}\n")
# The scaled file has near-copies across splits and newer values: the data gates warn only.
text = text.replace("    FEATURE_TYPE_LOW_FRACTION_PRESENT: warn\n",
                    "    FEATURE_TYPE_LOW_FRACTION_PRESENT: warn\n    anomalies: warn\n")
open(path, "w").write(text)
PY
(cd "$work/origin" && gitc add -A && gitc commit -qm "taxi, $rows rows, 16-trial tuner")
"$mlops" --repo "$work/origin" pipeline export --to argo -o "$work/pipeline.yaml" >/dev/null

median() { python3 -c "import statistics, sys; print(f'{statistics.median(float(x) for x in sys.argv[1:]):.2f}')" "$@"; }
declare -A times
for run in $(seq 1 "$runs"); do
  for workers in 1 2; do
    prefix="run-$run-w$workers"
    start=$(date +%s.%N)
    MLOPS_CACHE="s3://bench-cache/$prefix" MLOPS_REGISTRY="s3://bench-models/$prefix" MLOPS_BINARY="$mlops" \
      "$tools/bin/python" "$root/Tests/Tools/run_export.py" argo "$work/pipeline.yaml" --workers "$workers" \
      --param "repository=$work/origin" --param revision=main --log "$work/$prefix.jsonl" >/dev/null
    end=$(date +%s.%N)
    times[$workers]="${times[$workers]:-} $(python3 -c "print($end - $start)")"
    echo "run $run, $workers worker(s): $(python3 -c "print(f'{$end - $start:.2f}')") s"
  done
  rm -rf "$work/local"; gitc clone -q "$work/origin" "$work/local"
  start=$(date +%s.%N)
  MLOPS_CACHE="" MLOPS_REGISTRY="s3://bench-models/local-$run" "$mlops" --repo "$work/local" release >/dev/null 2>&1
  end=$(date +%s.%N)
  times[local]="${times[local]:-} $(python3 -c "print($end - $start)")"
  echo "run $run, one process (mlops release): $(python3 -c "print(f'{$end - $start:.2f}')") s"
done
one=$(median ${times[1]}); two=$(median ${times[2]}); local=$(median ${times[local]})
echo
echo "medians of $runs runs, $rows rows, 16 trials:"
echo "  exported pipeline, 1 worker:  $one s"
echo "  exported pipeline, 2 workers: $two s"
echo "  one process (mlops release):  $local s"
echo "  ratio 1 worker / 2 workers:   $(python3 -c "print(f'{$one / $two:.2f}')")x"
