#!/usr/bin/env bash
# Benchmark for the data components (issue: ExampleGen, StatisticsGen...). Not a test: run by hand.
#
#   bash bench/data/run.sh          # RUNS=10 TFDV_RUNS=3; SKIP_TFDV=1 leaves TFDV out
#
# On the 1M-row taxi file (../shared/bench/make_big_taxi.py, 128 MB), in the same run:
# 1. statistics: `mlops data stats --json` vs pandas read_csv + describe(), polars
#    read_csv + describe(), and TFDV 1.16.1 generate_statistics_from_csv; wall-clock medians
#    (hyperfine) and the ratio of medians, then peak RSS of one run of each (/usr/bin/time).
# 2. ExampleGen alone: `mlops data examples FILE -o DIR` (split 2:1 + columnar write), in MB/s.
# Peers come from ../shared/bench/setup_peers.sh (run here when missing). Python runs with
# its bytecode cache allowed, so the peers do not pay for compiling their imports.
set -euo pipefail
work="${BENCH_DIR:-/tmp/mlops-bench-data}"
runs="${RUNS:-10}"
tfdv_runs="${TFDV_RUNS:-3}"
mkdir -p "$work"
if [ -n "${SKIP_TFDV:-}" ]; then needs=venv/bin/python setup_flags=--no-tfdv; else needs=venv-tfdv/bin/python; fi
source "$(dirname "$0")/../common.sh"

cat > "$work/pandas_stats.py" <<'PY'
import sys, pandas as pd
frame = pd.read_csv(sys.argv[1])
summary = frame.describe()
PY
cat > "$work/polars_stats.py" <<'PY'
import sys, polars as pl
frame = pl.read_csv(sys.argv[1])
summary = frame.describe()
PY
cat > "$work/tfdv_stats.py" <<'PY'
import sys, tensorflow_data_validation as tfdv
stats = tfdv.generate_statistics_from_csv(sys.argv[1], output_path=sys.argv[2])
PY

py() { echo "env -u PYTHONDONTWRITEBYTECODE $1/bin/python"; }
echo "== statistics of the 1M-row taxi file ($runs runs; TFDV $tfdv_runs)"
hyperfine -N --warmup 1 --runs "$runs" --export-json "$work/stats.json" \
  -n "mlops data stats" "$mlops data stats --json $csv" \
  -n "polars read_csv + describe" "$(py "$peers/venv") $work/polars_stats.py $csv" \
  -n "pandas read_csv + describe" "$(py "$peers/venv") $work/pandas_stats.py $csv"
if [ -z "${SKIP_TFDV:-}" ]; then
  hyperfine -N --runs "$tfdv_runs" --export-json "$work/tfdv.json" \
    -n "TFDV generate_statistics_from_csv" "$(py "$peers/venv-tfdv") $work/tfdv_stats.py $csv $work/tfdv.stats"
fi

echo "== peak memory (one run each)"
peak() { /usr/bin/time -f "%M" "$@" 2>&1 >/dev/null | tail -1; }
{
  echo "mlops $(peak "$mlops" data stats --json "$csv")"
  echo "polars $(peak env -u PYTHONDONTWRITEBYTECODE "$peers/venv/bin/python" "$work/polars_stats.py" "$csv")"
  echo "pandas $(peak env -u PYTHONDONTWRITEBYTECODE "$peers/venv/bin/python" "$work/pandas_stats.py" "$csv")"
  [ -n "${SKIP_TFDV:-}" ] || echo "tfdv $(peak env -u PYTHONDONTWRITEBYTECODE "$peers/venv-tfdv/bin/python" "$work/tfdv_stats.py" "$csv" "$work/tfdv.stats")"
} | tee "$work/peak.txt"

echo "== ExampleGen alone: split 2:1 and columnar write ($runs runs)"
hyperfine -N --warmup 1 --runs "$runs" --export-json "$work/examplegen.json" \
  -n "mlops data examples" "$mlops data examples --json $csv -o $work/examples"

echo "== ExampleGen then StatisticsGen per split ($runs runs)"
hyperfine -N --warmup 1 --runs "$runs" --export-json "$work/pair.json" \
  -n "mlops data examples + data stats DIR" \
  "sh -c '$mlops data examples --json $csv -o $work/examples >/dev/null && $mlops data stats --json $work/examples >/dev/null'"

python3 - "$work" "$csv" <<'PY'
import json, os, sys
work, csv = sys.argv[1], sys.argv[2]
def medians(name):
    path = os.path.join(work, name)
    if not os.path.exists(path): return {}
    return {r["command"]: r["median"] for r in json.load(open(path))["results"]}
m = medians("stats.json"); m.update(medians("tfdv.json"))
ours = m["mlops data stats"]
print("\n| command | median | mlops faster by |\n|---|---|---|")
for name, value in m.items():
    print(f"| {name} | {value:.3f} s | {value / ours:.2f}x |")
peak = dict(line.split() for line in open(os.path.join(work, "peak.txt")) if line.strip())
print("\npeak RSS: " + ", ".join(f"{k} {int(v) / 1024:.0f} MiB" for k, v in peak.items()))
eg = medians("examplegen.json")["mlops data examples"]
size = os.path.getsize(csv)
print(f"\nExampleGen: {eg:.3f} s median for {size / 1e6:.1f} MB = {size / 1e6 / eg:.0f} MB/s")
pair = medians("pair.json")["mlops data examples + data stats DIR"]
tfdv = m.get("TFDV generate_statistics_from_csv")
print(f"ExampleGen + StatisticsGen: {pair:.3f} s" + (f", {tfdv / pair:.0f}x faster than TFDV" if tfdv else ""))
PY
