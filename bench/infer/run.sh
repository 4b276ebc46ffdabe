#!/usr/bin/env bash
# Benchmark for bulk inference (issue: serving and bulk inference). Not a test: run by hand.
#
#   bash bench/infer/run.sh        # RUNS=5
#
# The taxi model (trained by mlops on the bundled 15k rows) predicts the 1M-row taxi file:
# `mlops infer` against what a Python user writes (bench/infer/python_infer.py): pandas
# read_csv, the same fitted transform with pandas/numpy, Python xgboost predict with the same
# model.json, `to_csv` with the predictions appended. Same run, medians, rows per second, and
# peak RSS. Both outputs must hold the same predictions for every row (checked).
#
# mlops runs twice: with `--out-of-domain keep` (no domain check: the same work and output as
# Python), and with its defaults plus `--on-bad-rows skip` (every value checked against the
# schema's domains; the 903 rows with a company the curated schema does not list are skipped).
set -euo pipefail
work="${BENCH_DIR:-/tmp/mlops-bench-infer}"
runs="${RUNS:-5}"
mkdir -p "$work"
needs=venv/bin/python setup_flags=--no-tfdv
source "$(dirname "$0")/../common.sh"
py="env -u PYTHONDONTWRITEBYTECODE $peers/venv/bin/python"

m="$work/taxi"
if [ ! -d "$m/.mlops" ]; then
  rm -rf "$m"; "$mlops" init "$m" >/dev/null
  "$mlops" train --repo "$m" >/dev/null 2>&1
fi
model="$(ls -d "$m"/.mlops/artifacts/Trainer/model-* | head -1)"
rows=$(($(wc -l < "$csv") - 1))
echo "model: $model"
echo "input: $csv ($rows rows)"

echo "== bulk inference, $rows rows ($runs runs)"
hyperfine -N --runs "$runs" --warmup 1 --export-json "$work/infer.json" \
  -n "mlops infer --out-of-domain keep" "$mlops infer $model --input $csv -o $work/mlops.csv --out-of-domain keep" \
  -n "mlops infer (domains checked, bad rows skipped)" \
  "$mlops infer $model --input $csv -o $work/mlops-checked.csv --on-bad-rows skip" \
  -n "python: pandas + xgboost" "$py $root/bench/infer/python_infer.py $model $csv $work/python.csv"

python3 - "$work/infer.json" "$rows" <<'PY'
import json, statistics, sys
results = json.load(open(sys.argv[1]))["results"]
rows = int(sys.argv[2])
medians = {r["command"]: statistics.median(r["times"]) for r in results}
python = medians["python: pandas + xgboost"]
for name, seconds in medians.items():
    print(f"{name}: median {seconds:.2f} s, {rows / seconds:,.0f} rows/s, python/this {python / seconds:.2f}x")
PY

echo "== the same predictions for every row"
python3 - "$work/mlops.csv" "$work/python.csv" <<'PY'
import csv, sys
a, b = csv.reader(open(sys.argv[1])), csv.reader(open(sys.argv[2]))
rows = differ = 0
for left, right in zip(a, b):
    rows += 1
    differ += left[-2:] != right[-2:]
print(f"{rows - 1} rows compared, {differ} differ")
sys.exit(1 if differ else 0)
PY

peak() { /usr/bin/time -f "%M" "$@" 2>&1 >/dev/null | tail -1; }
echo "mlops $(peak "$mlops" infer "$model" --input "$csv" -o "$work/mlops.csv" --out-of-domain keep) KiB peak" | tee "$work/peak.txt"
echo "python $(peak env -u PYTHONDONTWRITEBYTECODE "$peers/venv/bin/python" "$root/bench/infer/python_infer.py" "$model" "$csv" "$work/python.csv") KiB peak" | tee -a "$work/peak.txt"
