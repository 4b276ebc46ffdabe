#!/usr/bin/env bash
# Benchmark for issue 23: `mlops data stats` writing TFMD's DatasetFeatureStatisticsList in
# binary (--format tfmd-binary -o FILE) and in protobuf's JSON mapping (--format tfmd-json)
# against writing mlops' own JSON (--json), on the 1M-row taxi file. Not a test: run by hand.
#
#   bash bench/data/tfmd.sh        # RUNS=10
#
# Target: the protobuf output costs at most 10% more than the JSON one (ratio of medians).
set -euo pipefail
work="${BENCH_DIR:-/tmp/mlops-bench-tfmd}"
runs="${RUNS:-10}"
mkdir -p "$work"
needs=venv/bin/python setup_flags=--no-tfdv
source "$(dirname "$0")/../common.sh"
echo "== versions: $("$mlops" --version), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== mlops data stats on $csv ($(du -m "$csv" | cut -f1) MB), $runs runs each"
hyperfine -N --warmup 1 --runs "$runs" --export-json "$work/tfmd.json" --output=pipe \
  -n "mlops JSON (--json)" "$mlops data stats --json $csv" \
  -n "TFMD binary (--format tfmd-binary -o FILE)" "$mlops data stats --format tfmd-binary -o $work/stats.pb $csv" \
  -n "TFMD JSON (--format tfmd-json)" "$mlops data stats --format tfmd-json $csv" >/dev/null
python3 - "$work/tfmd.json" <<'PY'
import json, statistics, sys
results = json.load(open(sys.argv[1]))["results"]
medians = {r["command"]: statistics.median(r["times"]) for r in results}
base = medians["mlops JSON (--json)"]
for name, median in medians.items():
    print(f"{name:32s} median {median:.3f} s   ratio to --json {median / base:.3f}")
PY
ls -l "$work/stats.pb" | awk '{print "TFMD binary size:", $5, "bytes"}'
"$mlops" data stats --json "$csv" | wc -c | awk '{print "mlops JSON size:", $1, "bytes"}'
