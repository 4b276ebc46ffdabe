#!/usr/bin/env bash
# Benchmark for `mlops monitor` (issue 21). Not a test: run by hand.
#
#   bash bench/monitoring/monitor.sh      # RUNS=5 TFDV_RUNS=3 REQUEST_ROWS=100
#
# One million logged rows: the 1M-row taxi file (../shared/bench/make_big_taxi.py) scored by
# the released taxi model (`mlops infer`), written as `mlops serve` writes its prediction log
# (one JSON line per request of REQUEST_ROWS rows, files of about 64 MiB, spread over an
# hour). In the same run:
# - `mlops monitor` on that hour: reading the log, the window's statistics (StatisticsGen's
#   code), skew of every feature against the training statistics, the predictions against the
#   eval split's, the four reports;
# - TFDV 1.16.1 `generate_statistics_from_csv` on the same rows' features as CSV: the
#   statistics alone, which TFDV's skew check (`validate_statistics` with a serving
#   statistics) needs first.
# Wall-clock medians (hyperfine), the ratio of medians, and peak RSS of one run of each.
set -euo pipefail
work="${BENCH_DIR:-/tmp/mlops-bench-monitor}"
runs="${RUNS:-5}"
tfdv_runs="${TFDV_RUNS:-3}"
request_rows="${REQUEST_ROWS:-100}"
needs=venv-tfdv/bin/python
source "$(dirname "$0")/../common.sh"
rm -rf "$work/project"
mkdir -p "$work"

echo "== a released taxi model"
"$mlops" init "$work/project" >/dev/null
cd "$work/project"
sed -i 's/  max_p99_ms: 50/  max_p99_ms: 5000/' mlops.yaml
gitc init -q . && gitc add -A && gitc commit -qm "taxi"
"$mlops" train >/dev/null
"$mlops" gate >/dev/null
identity=$("$mlops" release --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["result"]["identity"])')
"$mlops" promote taxi@0.1.0 --to staging >/dev/null
"$mlops" promote taxi@0.1.0 --to production >/dev/null
echo "taxi@0.1.0 $identity"

echo "== one million rows scored and logged ($request_rows rows a request)"
[ -f "$work/scored.csv" ] || "$mlops" infer taxi@production --input "$csv" -o "$work/scored.csv" --out-of-domain missing >/dev/null
rm -rf "$work/logs" && mkdir -p "$work/logs"
python3 - "$work/scored.csv" "$work/logs" "$work/features.csv" "$identity" "$request_rows" <<'PY'
import csv, json, sys, time
scored, folder, features_csv, identity, per = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
ints = {"trip_start_month", "trip_start_hour", "trip_start_day", "pickup_community_area", "dropoff_community_area",
        "pickup_census_tract", "dropoff_census_tract", "trip_seconds"}
floats = {"fare", "trip_miles", "pickup_latitude", "pickup_longitude", "dropoff_latitude", "dropoff_longitude"}
texts = {"payment_type", "company"}
names = [n for n in csv.DictReader(open(scored)).fieldnames if n in ints | floats | texts]
def value(name, text):
    if text == "": return None
    if name in texts: return text
    return int(float(text)) if name in ints else float(text)
rows = list(csv.DictReader(open(scored)))
with open(features_csv, "w", newline="") as out:
    writer = csv.writer(out)
    writer.writerow(names)
    for row in rows: writer.writerow([row[n] for n in names])
start = 1_800_000_000.0  # 2027-01-15T08:00:00Z: the hour the monitor reads
step = 3600.0 / (len(rows) / per)
file, size, sequence, count = None, 0, 0, 0
for index in range(0, len(rows), per):
    batch = rows[index:index + per]
    when = start + (index // per) * step
    if file is None or size > 64 << 20:
        if file: file.close()
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(when))
        file = open(f"{folder}/predictions-{stamp}-bench-1-{sequence}.jsonl", "w")
        sequence, size = sequence + 1, 0
    line = json.dumps({
        "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when)) + ".%03dZ" % int((when % 1) * 1000),
        "request_id": f"r{index // per}", "model": "taxi", "version": "0.1.0", "identity": identity,
        "rows": len(batch),
        "features": {n: [value(n, row[n]) for row in batch] for n in names},
        "predictions": {"probability": [float(row["probability"]) for row in batch],
                        "predicted_class": [int(row["predicted_class"]) for row in batch]},
    }, separators=(",", ":")) + "\n"
    file.write(line)
    size += len(line)
    count += len(batch)
file.close()
print(f"{count} rows in {sequence} files")
PY
du -sh "$work/logs" "$work/features.csv"

cat > "$work/tfdv_stats.py" <<'PY'
import sys, tensorflow_data_validation as tfdv
stats = tfdv.generate_statistics_from_csv(sys.argv[1], output_path=sys.argv[2])
PY
py() { echo "env -u PYTHONDONTWRITEBYTECODE $1/bin/python"; }
monitor="$mlops monitor --from 2027-01-15T08:00:00Z --to 2027-01-15T09:00:00Z --logs $work/logs --json"
$monitor > "$work/monitor.json" || true
python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))["result"]; print("monitor:", r["window"]["rows"], "rows,", len(r["checks"]), "checks, healthy:", r["healthy"])' "$work/monitor.json"

echo "== mlops monitor ($runs runs) and TFDV's statistics ($tfdv_runs runs) on the same rows"
hyperfine -N -i --warmup 1 --runs "$runs" --export-json "$work/monitor-times.json" -n "mlops monitor" "$monitor"
hyperfine -N --runs "$tfdv_runs" --export-json "$work/tfdv-times.json" \
  -n "TFDV generate_statistics_from_csv" "$(py "$peers/venv-tfdv") $work/tfdv_stats.py $work/features.csv $work/tfdv.stats"

echo "== peak memory (one run each)"
peak() { /usr/bin/time -f "%M" "$@" 2>&1 >/dev/null | tail -1; }
{
  echo "mlops $(peak $monitor)"
  echo "tfdv $(peak env -u PYTHONDONTWRITEBYTECODE "$peers/venv-tfdv/bin/python" "$work/tfdv_stats.py" "$work/features.csv" "$work/tfdv.stats")"
} | tee "$work/peak.txt"

python3 - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
def median(name):
    return json.load(open(os.path.join(work, name)))["results"][0]["median"]
ours, theirs = median("monitor-times.json"), median("tfdv-times.json")
print(f"\n| command | median | |\n|---|---|---|")
print(f"| mlops monitor (1M logged rows) | {ours:.3f} s | 1.00x |")
print(f"| TFDV generate_statistics_from_csv (same rows) | {theirs:.3f} s | {theirs / ours:.1f}x slower |")
peak = dict(line.split() for line in open(os.path.join(work, "peak.txt")) if line.strip())
print("\npeak RSS: " + ", ".join(f"{k} {int(v) / 1024:.0f} MiB" for k, v in peak.items()))
PY
