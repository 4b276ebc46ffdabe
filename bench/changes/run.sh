#!/usr/bin/env bash
# Benchmark for `mlops changes` (issue: git awareness). Not a test: run by hand.
#
#   bash bench/changes/run.sh            # needs the 1M-row taxi CSV generator in ../shared/bench
#
# 1. A repository with 20,000 small files and the 1M-row taxi CSV (128 MB) committed on
#    main, a feature branch with one commit, and one modified file in the work tree:
#    `mlops changes --json --base main` against `git status --porcelain` plus
#    `git diff --name-only main...HEAD`, in interleaved rounds, medians of the pooled runs.
# 2. Fingerprinting: the same `mlops changes` when the data set is the committed 128 MB CSV,
#    a committed 1 KB file, and the 128 MB CSV with one line appended (hashed with SHA-256).
# The git CLI is used here only to build the fixture and as the peer.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="${BENCH_DIR:-/tmp/mlops-bench-changes}"
runs="${RUNS:-15}"  # for the fingerprint comparison
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

# Interleaved rounds: this VM's speed drifts over seconds, so each round times both commands
# and the times are pooled before taking medians.
rounds="${ROUNDS:-10}"
per="${RUNS_PER_ROUND:-5}"
echo "== mlops changes vs git status + git diff (20,000 files + 128 MB CSV, $rounds rounds of $per runs each)"
for round in $(seq 1 "$rounds"); do
  (cd "$repo" && hyperfine -N --warmup 1 --runs "$per" --export-json "$work/changes-$round.json" \
    -n "mlops changes --json --base main" "$mlops changes --json --base main" \
    -n "git status --porcelain + git diff --name-only main...HEAD" \
    "sh -c 'git status --porcelain >/dev/null && git diff --name-only main...HEAD >/dev/null'" >/dev/null)
done
python3 - "$work" "$rounds" <<'PY'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
pooled = {}
for round in range(1, rounds + 1):
    for result in json.load(open(f"{work}/changes-{round}.json"))["results"]:
        pooled.setdefault(result["command"], []).extend(result["times"])
medians = {name: statistics.median(times) * 1000 for name, times in pooled.items()}
for name, median in medians.items():
    print(f"  {name}: median {median:.1f} ms over {len(pooled[name])} runs")
mlops, git = list(medians.values())
print(f"  ratio mlops / git: {mlops / git:.2f}x (goal: at most 1.5x)")
PY

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

python3 - "$work/fingerprint.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"median  {r['command']:<34} {r['median']*1000:8.1f} ms")
PY
