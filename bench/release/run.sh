#!/usr/bin/env bash
# Benchmark for release bundles (issue: release). Not a test: run by hand.
#
#   bash bench/release/run.sh        # RUNS=5, LEVEL=3 (release.compression_level's default)
#
# A 200 MB model folder (generated: an XGBoost-like model.json of 190 MB, a transform and a
# schema) is bundled by `mlops release`'s writer (mlops-bundle-bench: the same BundleWriter,
# hashing every file, writing manifest.json and provenance.json, a pax tar through libarchive's
# zstd filter) and by `tar --zstd -cf` at the same level (GNU tar piping to the zstd program,
# one thread, as libarchive's filter uses). Same run, same files, medians and their ratio.
# Then the reproducibility check: two bundles of the same folder must be the same bytes.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="${BENCH_DIR:-/tmp/mlops-bench-release}"
runs="${RUNS:-5}"
level="${LEVEL:-3}"
mkdir -p "$work"
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine >/dev/null
# Optimized; the Swift runtime linked dynamically (a static link of this helper would need
# libcurl's development files for FoundationNetworking, which Gates pulls in).
[ -n "${MLOPS_BENCH_NO_BUILD:-}" ] || (cd "$root" && swift build -c release --product mlops-bundle-bench \
  --scratch-path .build-bench >/dev/null)
bundler="$root/.build-bench/release/mlops-bundle-bench"

model="$work/model"
if [ ! -f "$model/model.json" ]; then
  mkdir -p "$model"
  python3 - "$model" <<'PY'
import json, random, sys
random.seed(7)
folder = sys.argv[1]
# An XGBoost-like JSON model: trees of split conditions, indices, children and weights.
with open(f"{folder}/model.json", "w") as out:
    out.write('{"learner":{"gradient_booster":{"model":{"trees":[')
    size, t = 0, 0
    while size < 190_000_000:
        n = 255
        tree = {"id": t, "split_conditions": [round(random.uniform(-3, 3), 7) for _ in range(n)],
                "split_indices": [random.randrange(40) for _ in range(n)],
                "left_children": [random.randrange(-1, n) for _ in range(n)],
                "right_children": [random.randrange(-1, n) for _ in range(n)],
                "base_weights": [round(random.gauss(0, 0.3), 8) for _ in range(n)],
                "loss_changes": [round(random.expovariate(1), 6) for _ in range(n)],
                "sum_hessian": [round(random.uniform(0, 500), 5) for _ in range(n)]}
        text = json.dumps(tree)
        out.write(("," if t else "") + text)
        size += len(text) + 1
        t += 1
    out.write("]}}}}")
with open(f"{folder}/transform.json", "w") as out:
    json.dump({"features": [{"name": f"f{i}", "mean": random.random()} for i in range(40)]}, out)
with open(f"{folder}/schema.pbtxt", "w") as out:
    out.write("".join(f'feature {{ name: "f{i}" type: FLOAT }}\n' for i in range(40)))
PY
fi
du -sb "$model"
echo "== bundling $(du -sh "$model" | cut -f1) at zstd level $level ($runs runs)"
hyperfine -N --runs "$runs" --warmup 1 --export-json "$work/release.json" \
  -n "mlops release writer" "$bundler $model $work/mlops.tar.zst $level" \
  -n "tar --zstd -cf (level $level)" \
  "tar --sort=name -C $model -I 'zstd -$level -T1 -q' -cf $work/tar.tar.zst ."

python3 - "$work/release.json" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
m = next(r for n, r in results.items() if n.startswith("mlops"))
t = next(r for n, r in results.items() if n.startswith("tar"))
print(f"median: mlops {m['median']:.2f} s, tar {t['median']:.2f} s, ratio mlops/tar {m['median'] / t['median']:.2f}x (goal: at most 1.2x)")
PY
ls -l "$work/mlops.tar.zst" "$work/tar.tar.zst" | awk '{print $5, $9}'

echo "== reproducibility: the same folder bundled twice"
"$bundler" "$model" "$work/again-1.tar.zst" "$level" >/dev/null
"$bundler" "$model" "$work/again-2.tar.zst" "$level" >/dev/null
a=$(sha256sum "$work/again-1.tar.zst" | cut -d' ' -f1)
b=$(sha256sum "$work/again-2.tar.zst" | cut -d' ' -f1)
echo "first  $a"
echo "second $b"
[ "$a" = "$b" ] && echo "identical bytes: yes" || { echo "identical bytes: NO"; exit 1; }
