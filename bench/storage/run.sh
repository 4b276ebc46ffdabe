#!/usr/bin/env bash
# Benchmark for the S3 registry's transfers (issue 24). Not a test: run by hand.
#
#   bash bench/storage/run.sh        # RUNS=5, SIZE_MB=200
#
# A 200 MB bundle-like file (random bytes: a zstd bundle does not compress further) goes up to
# and comes back from moto's S3 server on 127.0.0.1 (signatures enforced, as in the tests),
# by mlops's S3 client (mlops-s3-bench: S3Client.upload/download, the calls `mlops release`
# and a bundle download make: multipart over 64 MiB, SHA-256 checksums sent and checked) and
# by `aws s3 cp` (awscli from PyPI) in the same run. Medians and their ratio, per direction.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="${BENCH_DIR:-/tmp/mlops-bench-storage}"
runs="${RUNS:-5}"
size="${SIZE_MB:-200}"
mkdir -p "$work"
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine >/dev/null
venv="$work/venv"
if [ ! -x "$venv/bin/aws" ] || [ ! -x "$venv/bin/moto_server" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q awscli 'moto[server]'
fi
[ -n "${MLOPS_BENCH_NO_BUILD:-}" ] || (cd "$root" && swift build -c release --product mlops-s3-bench \
  --scratch-path .build-bench >/dev/null)
client="$root/.build-bench/release/mlops-s3-bench"

file="$work/bundle.bin"
[ "$(stat -c %s "$file" 2>/dev/null || echo 0)" -eq $((size << 20)) ] || head -c $((size << 20)) /dev/urandom >"$file"

s3_python="$venv/bin/python" s3_buckets=bench
. "$root/bench/s3-server.sh"
export AWS_DEFAULT_REGION=us-east-1

echo "== ${size} MB to and from moto at $AWS_ENDPOINT_URL ($runs runs; awscli $("$venv/bin/aws" --version 2>&1 | cut -d' ' -f1))"
hyperfine -N --runs "$runs" --warmup 1 --export-json "$work/upload.json" \
  -n "mlops S3 client upload" "$client upload $file s3://bench/mlops/bundle.bin" \
  -n "aws s3 cp (upload)" "$venv/bin/aws s3 cp --only-show-errors $file s3://bench/aws/bundle.bin"
hyperfine -N --runs "$runs" --warmup 1 --export-json "$work/download.json" \
  -n "mlops S3 client download" "$client download s3://bench/mlops/bundle.bin $work/mlops.out" \
  -n "aws s3 cp (download)" "$venv/bin/aws s3 cp --only-show-errors s3://bench/aws/bundle.bin $work/aws.out"
cmp "$file" "$work/mlops.out" && cmp "$file" "$work/aws.out" && echo "both downloads are the uploaded bytes"

python3 - "$work/upload.json" "$work/download.json" <<'PY'
import json, sys
for path in sys.argv[1:]:
    results = json.load(open(path))["results"]
    ours, peer = results[0]["median"], results[1]["median"]
    print(f"{results[0]['command']}: {ours:.2f} s, {results[1]['command']}: {peer:.2f} s, ratio {ours / peer:.2f}x")
PY
