#!/usr/bin/env bash
# Benchmark for `mlops changes` (issue: git awareness). Not a test: run by hand.
#
#   bash bench/changes/run.sh            # needs the 1M-row taxi CSV generator in ../shared/bench
#
# 1. A repository with 20,000 small files and the 1M-row taxi CSV (128 MB) committed on
#    main, a feature branch with one commit, and one modified file in the work tree:
#    `mlops changes --json --base main` against `git status --porcelain` plus
#    `git diff --name-only main...HEAD`, in the same run, medians of hyperfine runs.
# 2. Fingerprinting: the same `mlops changes` when the data set is the committed 128 MB CSV,
#    a committed 1 KB file, and the 128 MB CSV with one line appended (hashed with SHA-256).
# The git CLI is used here only to build the fixture and as the peer.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="${BENCH_DIR:-/tmp/mlops-bench-changes}"
runs="${RUNS:-15}"
mkdir -p "$work"

command -v hyperfine >/dev/null || { sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo; $sudo apt-get install -y -qq hyperfine >/dev/null; }
# Built as a release would ship it: optimized, with the Swift runtime linked statically.
(cd "$root" && swift build -c release --product mlops --static-swift-stdlib --scratch-path .build-static >/dev/null)
mlops="$root/.build-static/release/mlops"

csv="$work/taxi_1m.csv"
if [ ! -f "$csv" ]; then
  python3 "$root/../shared/bench/make_big_taxi.py" --rows 1000000 --out "$csv"
fi

gitc() { git -c user.name=bench -c user.email=bench@mlops.invalid -c init.defaultBranch=main "$@"; }

# --- 1. the big repository -------------------------------------------------------------
repo="$work/repo"
if [ ! -d "$repo/.git" ]; then
  rm -rf "$repo"; mkdir -p "$repo/data"
  cp "$csv" "$repo/data/taxi.csv"
  python3 - "$repo" <<'PY'
import os, sys
root = sys.argv[1]
for d in range(200):
    folder = os.path.join(root, "src", f"pkg{d:03d}")
    os.makedirs(folder, exist_ok=True)
    for f in range(100):
        with open(os.path.join(folder, f"file{f:04d}.py"), "w") as out:
            out.write(f"# module {d}/{f}\nVALUE = {d * 100 + f}\n")
PY
  cat > "$repo/mlops.yaml" <<'YAML'
pipeline: {name: bench}
data: {sources: ["data/*.csv"]}
paths: {code: ["src/**"]}
YAML
  (cd "$repo" && gitc init -q && gitc add -A && gitc commit -qm base && gitc checkout -qb feature \
    && echo "VALUE = -1" >> src/pkg000/file0000.py && gitc commit -qam "feature change")
fi
(cd "$repo" && git checkout -q feature && git checkout -q -- . && echo "VALUE = -2" >> src/pkg001/file0001.py)

echo "== mlops changes vs git status + git diff (20,000 files + 128 MB CSV, $runs runs)"
(cd "$repo" && hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/changes.json" \
  -n "mlops changes --json --base main" "$mlops changes --json --base main" \
  -n "git status --porcelain + git diff --name-only main...HEAD" "sh -c 'git status --porcelain >/dev/null && git diff --name-only main...HEAD >/dev/null'")

# --- 2. fingerprints ----------------------------------------------------------------------
fp="$work/fingerprint"
if [ ! -d "$fp/big/.git" ]; then
  rm -rf "$fp"; mkdir -p "$fp/big/data"
  cp "$csv" "$fp/big/data/taxi.csv"
  head -c 1024 "$csv" > "$fp/big/data/small.csv"
  printf 'pipeline: {name: fp}\ndata: {sources: ["data/taxi.csv"]}\n' > "$fp/big/mlops.yaml"
  (cd "$fp/big" && gitc init -q && gitc add -A && gitc commit -qm data)
  gitc clone -q "$fp/big" "$fp/small"
  (cd "$fp/small" && printf 'pipeline: {name: fp}\ndata: {sources: ["data/small.csv"]}\n' > mlops.yaml && gitc commit -qam small)
  gitc clone -q "$fp/big" "$fp/modified"
  (cd "$fp/modified" && tail -n 1 data/taxi.csv >> data/taxi.csv)
fi
echo "== fingerprinting a data set (committed 128 MB CSV, committed 1 KB file, modified 128 MB CSV)"
hyperfine -N --warmup 2 --runs "$runs" --export-json "$work/fingerprint.json" \
  -n "committed 128 MB CSV (blob id)" "$mlops --repo $fp/big changes --json" \
  -n "committed 1 KB file (blob id)" "$mlops --repo $fp/small changes --json" \
  -n "modified 128 MB CSV (SHA-256)" "$mlops --repo $fp/modified changes --json"

python3 - "$work/changes.json" "$work/fingerprint.json" <<'PY'
import json, sys
changes = json.load(open(sys.argv[1]))["results"]
fp = json.load(open(sys.argv[2]))["results"]
m, g = changes[0]["median"], changes[1]["median"]
print(f"\nmedian  mlops changes {m*1000:.1f} ms   git status+diff {g*1000:.1f} ms   ratio mlops/git {m/g:.2f}x (goal <= 1.5x)")
for r in fp:
    print(f"median  {r['command']:<34} {r['median']*1000:8.1f} ms")
PY
