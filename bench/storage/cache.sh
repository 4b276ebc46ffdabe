#!/usr/bin/env bash
# Benchmark for the remote artifact cache (issue 24). Not a test: run by hand.
#
#   bash bench/storage/cache.sh        # RUNS=10
#
# The taxi template (its bundled 15,002 rows) in a git repository, with `MLOPS_CACHE` pointing
# at moto's S3 server on 127.0.0.1 (signatures enforced). One job seeds the cache with
# `mlops gate` (all eight components). Then, same run, medians (hyperfine):
# 1. a fresh clone's `mlops gate` pulling every component from the remote cache, against the
#    same `mlops gate --no-remote-cache` computing every component (both start from no .mlops);
# 2. a no-op `mlops train` (everything cached locally) with the remote cache configured,
#    against the same with none (`MLOPS_CACHE=`): the remote must cost nothing when the local
#    store already has every result (goal: within 2x).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="${BENCH_DIR:-/tmp/mlops-bench-cache}"
runs="${RUNS:-10}"
mkdir -p "$work"
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine >/dev/null
venv="$work/venv"
[ -x "$venv/bin/moto_server" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q 'moto[server]'; }
[ -n "${MLOPS_BENCH_NO_BUILD:-}" ] || (cd "$root" && swift build -c release --product mlops --static-swift-stdlib \
  --scratch-path .build-static >/dev/null)
mlops="$root/.build-static/release/mlops"
gitc() { git -c user.name=bench -c user.email=bench@mlops.invalid -c init.defaultBranch=main "$@"; }

s3_python="$venv/bin/python" s3_buckets=cache
. "$root/bench/s3-server.sh"
export MLOPS_CACHE=s3://cache/taxi

rm -rf "$work/seed" "$work/pull" "$work/compute"
"$mlops" init "$work/seed" >/dev/null
(cd "$work/seed" && gitc add -A && gitc commit -qm "taxi")
gitc clone -q "$work/seed" "$work/pull"
gitc clone -q "$work/seed" "$work/compute"
(cd "$work/seed" && "$mlops" gate >/dev/null)
(cd "$work/pull" && "$mlops" gate | grep -c "pulled from the remote cache" | sed 's/^/components pulled by a fresh clone: /')

echo "== a fresh clone's mlops gate: pulled from the remote cache vs computed ($runs runs)"
hyperfine -N --runs "$runs" --warmup 1 --export-json "$work/pull.json" \
  -n "mlops gate, pulled" --prepare "rm -rf $work/pull/.mlops" "$mlops --repo $work/pull gate" \
  -n "mlops gate --no-remote-cache, computed" --prepare "rm -rf $work/compute/.mlops" \
  "$mlops --repo $work/compute gate --no-remote-cache"

echo "== no-op mlops train: remote cache configured vs none ($runs runs)"
"$mlops" --repo "$work/pull" train >/dev/null
hyperfine -N --runs "$((runs * 3))" --warmup 2 --export-json "$work/noop.json" \
  -n "no-op train, remote cache configured" "$mlops --repo $work/pull train" \
  -n "no-op train, no remote cache" "env MLOPS_CACHE= $mlops --repo $work/pull train"

python3 - "$work/pull.json" "$work/noop.json" <<'PY'
import json, sys
for path in sys.argv[1:]:
    results = json.load(open(path))["results"]
    a, b = results[0]["median"], results[1]["median"]
    print(f"{results[0]['command']}: {a:.3f} s, {results[1]['command']}: {b:.3f} s, ratio {a / b:.2f}x")
PY
