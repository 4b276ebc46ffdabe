#!/usr/bin/env bash
# Benchmark for the pipeline runner (issue: runner, store, caching). Not a test: run by hand.
#
#   bash bench/pipeline/run.sh        # RUNS=15
#
# The 1M-row taxi CSV (128 MB) committed in a git repository, twice over:
# - mlops: the taxi template's mlops.yaml with `schema: infer` and no transform or trainer (four
#   components run: ExampleGen, StatisticsGen, SchemaGen, ExampleValidator);
# - DVC: a two-stage dvc.yaml doing less (split the CSV 2:1 with pandas, then describe() each
#   split), the stages DVC users write for the same job.
# Measured in the same run, medians (hyperfine):
# 1. nothing changed: `mlops train` vs `dvc repro`;
# 2. cold: the first run after removing every cached result;
# 3. one CSV line changed, to a new value each run (so neither tool can reuse an old result).
set -euo pipefail
work="${BENCH_DIR:-/tmp/mlops-bench-pipeline}"
runs="${RUNS:-15}"
mkdir -p "$work"
needs=venv-mlops/bin/dvc setup_flags=--no-tfdv
source "$(dirname "$0")/../common.sh"
dvc="env -u PYTHONDONTWRITEBYTECODE $peers/venv-mlops/bin/dvc"
py="$peers/venv-mlops/bin/python"

# --- the mlops repository ----------------------------------------------------------------
m="$work/mlops-repo"
if [ ! -d "$m/.git" ]; then
  rm -rf "$m"
  "$mlops" init "$m" >/dev/null
  cp "$csv" "$m/data/data.csv"
  sed -i 's|^schema: schema/schema.pbtxt|schema: infer|' "$m/mlops.yaml"
  # The data components only, like the DVC stages: no transform, no trainer (and so no gates).
  python3 - "$m/mlops.yaml" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
for section in ("transform", "trainer", "evaluation", "infra"):
    text = re.sub(r"(?m)^%s:\n(?:(?:  .*|#.*|)\n)*" % section, "", text)
open(sys.argv[1], "w").write(text)
PY
  (cd "$m" && gitc add -A && gitc commit -qm "taxi 1M")
fi

# --- the DVC repository ------------------------------------------------------------------
d="$work/dvc-repo"
if [ ! -d "$d/.git" ]; then
  rm -rf "$d"; mkdir -p "$d/data"
  cp "$csv" "$d/data/data.csv"
  cat > "$d/split.py" <<'PY'
import os, sys, zlib
import pandas as pd
frame = pd.read_csv(sys.argv[1])
bucket = pd.util.hash_pandas_object(frame, index=False) % 3
os.makedirs(sys.argv[2], exist_ok=True)
frame[bucket < 2].to_parquet(os.path.join(sys.argv[2], "train.parquet"))
frame[bucket == 2].to_parquet(os.path.join(sys.argv[2], "eval.parquet"))
PY
  cat > "$d/stats.py" <<'PY'
import json, os, sys
import pandas as pd
out = {}
for split in ("train", "eval"):
    out[split] = json.loads(pd.read_parquet(os.path.join(sys.argv[1], split + ".parquet")).describe().to_json())
json.dump(out, open(sys.argv[2], "w"))
PY
  cat > "$d/dvc.yaml" <<YAML
stages:
  examplegen:
    cmd: $py split.py data/data.csv examples
    deps: [data/data.csv, split.py]
    outs: [examples]
  statisticsgen:
    cmd: $py stats.py examples statistics.json
    deps: [examples, stats.py]
    outs: [statistics.json]
YAML
  (cd "$d" && gitc init -q && $dvc init -q && printf '/examples\n/statistics.json\n' > .gitignore \
    && gitc add -A && gitc commit -qm "taxi 1M" && $dvc repro -q && gitc add -A && gitc commit -qm lock)
fi
# Start from the committed data (an earlier run of part 3 leaves a changed line behind).
(cd "$m" && git checkout -q -- data/data.csv)
(cd "$d" && git checkout -q -- data/data.csv)
"$mlops" train --repo "$m" >/dev/null 2>&1 || true
(cd "$d" && $dvc repro -q)

echo "== 1. nothing changed ($runs runs)"
hyperfine -N --warmup 2 --runs "$runs" --export-json "$work/unchanged.json" \
  -n "mlops train" "$mlops train --repo $m" \
  -n "dvc repro" "sh -c 'cd $d && $dvc repro -q'"

echo "== 2. cold: every cached result removed first (5 runs)"
hyperfine -N --runs 5 --export-json "$work/cold.json" \
  --prepare "rm -rf $m/.mlops" -n "mlops train (cold)" "$mlops train --repo $m" \
  --prepare "sh -c 'cd $d && rm -rf examples statistics.json .dvc/cache .dvc/tmp'" \
  -n "dvc repro (cold)" "sh -c 'cd $d && $dvc repro -q'"

echo "== 3. one CSV line changed to a value not seen before (5 runs)"
# Sets the tip on line 2 to a value no run has seen (a counter), so every run meets a
# change nothing was cached for.
cat > "$work/flip.sh" <<'SH'
n=$(( $(cat "$1.counter" 2>/dev/null || echo 100) + 1 )); echo "$n" > "$1.counter"
sed -i "2s/,[0-9.]*\$/,$n.5/" "$1/data/data.csv"
SH
hyperfine -N --runs 5 --export-json "$work/oneline.json" \
  --prepare "sh $work/flip.sh $m" -n "mlops train (one line changed)" "$mlops train --repo $m" \
  --prepare "sh $work/flip.sh $d" -n "dvc repro (one line changed)" "sh -c 'cd $d && $dvc repro -q'"

python3 - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
for name, (ours, theirs) in {
    "unchanged.json": ("mlops train", "dvc repro"),
    "cold.json": ("mlops train (cold)", "dvc repro (cold)"),
    "oneline.json": ("mlops train (one line changed)", "dvc repro (one line changed)"),
}.items():
    m = {r["command"]: r["median"] for r in json.load(open(os.path.join(work, name)))["results"]}
    print(f"| {ours} | {m[ours]:.3f} s | {m[theirs]:.3f} s | {m[theirs] / m[ours]:.1f}x |")
PY
