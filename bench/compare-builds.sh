#!/usr/bin/env bash
# Two builds of mlops on the same work in the same run, interleaved: the binary of a base
# commit against this tree's, for a change that must not make mlops slower (issue 18's
# refactor). Uses the fixtures the other bench scripts leave under /tmp (run them first).
#   OLD=/path/to/old/mlops NEW=/path/to/new/mlops bash bench/compare-builds.sh
# Prints the median of each and the ratio new / old.
set -euo pipefail
: "${OLD:?the base build's mlops}" "${NEW:?this tree's mlops}"
runs="${RUNS:-20}"
out="$(mktemp -d)"
compare() {
  local name="$1" dir="$2" count="$3"; shift 3
  (cd "$dir" && hyperfine -N --warmup 2 --runs "$count" --export-json "$out/$name.json" \
    -n old "$OLD $*" -n new "$NEW $*" >/dev/null)
  python3 - "$out/$name.json" "$name" <<'PY'
import json, statistics, sys
results = {r["command"]: statistics.median(r["times"]) for r in json.load(open(sys.argv[1]))["results"]}
old, new = results["old"], results["new"]
unit, scale = ("ms", 1000) if old < 1 else ("s", 1)
print(f"{sys.argv[2]:<28} old {old * scale:8.1f} {unit}   new {new * scale:8.1f} {unit}   new/old {new / old:.2f}x")
PY
}
changes=/tmp/mlops-bench-changes/repo
pipeline=/tmp/mlops-bench-pipeline/mlops-repo
model="$(ls -d /tmp/mlops-bench-infer/taxi/.mlops/artifacts/Trainer/model-* | head -1)"
compare "mlops --help" /tmp "$runs" --help
compare "changes --base main" "$changes" "$runs" changes --json --base main
compare "train, nothing changed" "$pipeline" "$runs" train
compare "infer 1M rows" /tmp 5 infer "$model" --input /tmp/mlops-peers/taxi_1m.csv -o /tmp/compare-out.csv --out-of-domain keep
