#!/usr/bin/env bash
# Benchmark for issue 23: `mlops serve` against MLServer 1.7 (Seldon's Open Inference Protocol
# server, the XGBoost runtime KServe uses) serving the same model.json, over HTTP JSON and over
# gRPC, one-row and 100-row requests; and the one-row HTTP target for mlops alone: at least
# 12,000 req/s with a p99 of at most 2 ms in every run. Not a test: run by hand, about 10 minutes.
#
#   bash bench/serve/oip.sh        # RUNS=5 DURATION=10 (seconds per run)
#
# - The bundled taxi example (15k rows) trained with `mlops train`; `mlops serve latest
#   --grpc-port` serves the model folder. MLServer (bench/serve/mlserver_setup.sh:
#   mlserver-xgboost, `parallel_workers: 0`, its worker pool fails to start here) serves the SAME
#   model.json.
# - mlops gets raw taxi rows (16 tensors, the fitted transform applied per request); MLServer
#   gets an already transformed [N, F] FP32 matrix, which is less work per request and
#   favours MLServer.
# - HTTP: wrk on loopback, 2 threads, 8 connections (post.lua). gRPC: mlops-grpc-bench (this
#   repository's load generator on grpc-swift 2), 8 connections, one RPC in flight on each; the
#   same serialized ModelInferRequest sent byte for byte every time (typed contents).
# - Each configuration: a 3 s warm-up, then RUNS runs of DURATION s, each server in turn (the
#   other idle). Reports each run, the medians and the ratio of medians (mlops / MLServer).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="${BENCH_DIR:-/tmp/mlops-bench-oip}"
runs="${RUNS:-5}"
duration="${DURATION:-10}"
needs=venv/bin/python setup_flags=--no-tfdv
source "$here/../common.sh"
[ -n "${MLOPS_BENCH_NO_BUILD:-}" ] || (cd "$root" && swift build -c release --product mlops-grpc-bench --static-swift-stdlib --scratch-path .build-static >/dev/null)
grpc_bench="$root/.build-static/release/mlops-grpc-bench"
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
triton="$root/.build/triton-tools"
if ! "$triton/bin/python" -c "import tritonclient.grpc" 2>/dev/null; then
  [ -x "$triton/bin/pip" ] || python3 -m venv "$triton"
  env -u PYTHONDONTWRITEBYTECODE "$triton/bin/pip" install -q 'tritonclient[http,grpc]==2.73.0'
fi
rm -rf "$work"; mkdir -p "$work/bodies"; cd "$work"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
load() { echo "load $(cut -d' ' -f1-3 /proc/loadavg)"; }

mlops_pid=""
stop() {
  [ -z "$mlops_pid" ] || { kill "$mlops_pid" 2>/dev/null || true; wait "$mlops_pid" 2>/dev/null || true; }
  bash "$here/mlserver_setup.sh" --stop "$work/mlserver" 2>/dev/null || true
}
trap stop EXIT

echo "== versions: $("$mlops" --version), wrk $(wrk -v 2>&1 | head -1 | cut -d' ' -f2), $(nproc) cores, $(load)"
project="$work/taxi"
"$mlops" init "$project" >/dev/null
(cd "$project" && gitc add -A && gitc commit -qm "taxi example")
"$mlops" train --repo "$project" >/dev/null 2>&1
model_dir=$(ls -d "$project"/.mlops/artifacts/Trainer/model-*)

http_port=$(free_port); grpc_port=$(free_port)
"$mlops" serve latest --repo "$project" --port "$http_port" --grpc-port "$grpc_port" --name taxi > mlops-serve.log 2>&1 &
mlops_pid=$!
for _ in $(seq 200); do grep -q '^ready' mlops-serve.log && break; sleep 0.1; done
grep '^listening\|^ready' mlops-serve.log
curl -sf "http://127.0.0.1:$http_port/v2/models/taxi" > bodies/metadata.json
"$triton/bin/python" "$here/oip_bodies.py" "$project/data/data.csv" bodies/metadata.json bodies 1 100

ms_http=$(free_port); ms_grpc=$(free_port)
# One XGBoost thread, as mlops predicts (its OpenMP pool would otherwise spin a second core).
OMP_NUM_THREADS=1 bash "$here/mlserver_setup.sh" "$model_dir/model.json" "$work/mlserver" "$ms_http" "$ms_grpc"
"$peers/venv-mlserver/bin/python" "$here/mlserver_bodies.py" "$model_dir/model.json" bodies
echo "mlops    1 row:  $(curl -s -X POST -H 'Content-Type: application/json' --data-binary @bodies/mlops-1.json "http://127.0.0.1:$http_port/v2/models/taxi/infer" | head -c 200)"
echo "MLServer 1 row:  $(curl -s -X POST -H 'Content-Type: application/json' --data-binary @bodies/mlserver-1.json "http://127.0.0.1:$ms_http/v2/models/taxi/infer" | head -c 200)"

run() {  # run LABEL http|grpc TARGET BODY
  local label=$1 kind=$2 target=$3 body=$4
  if [ "$kind" = http ]; then
    BODY="$body" wrk -t2 -c8 -d3s -s "$here/post.lua" "$target" >/dev/null
  else
    "$grpc_bench" "$target" "$body" 8 3 0 >/dev/null
  fi
  for i in $(seq "$runs"); do
    if [ "$kind" = http ]; then
      BODY="$body" wrk -t2 -c8 -d"${duration}s" --latency -s "$here/post.lua" "$target" | grep '^RESULT'
    else
      "$grpc_bench" "$target" "$body" 8 "$duration" 0
    fi | sed "s/^RESULT/RESULT $label run=$i/"
  done | tee -a results.txt
  echo "   ($(load))"
}
echo "== $runs runs of ${duration} s each, after a 3 s warm-up"
for rows in 1 100; do
  run "mlops-http-$rows" http "http://127.0.0.1:$http_port/v2/models/taxi/infer" "$work/bodies/mlops-$rows.json"
  run "mlserver-http-$rows" http "http://127.0.0.1:$ms_http/v2/models/taxi/infer" "$work/bodies/mlserver-$rows.json"
  run "mlops-grpc-$rows" grpc "127.0.0.1:$grpc_port" "$work/bodies/mlops-$rows.pb"
  run "mlserver-grpc-$rows" grpc "127.0.0.1:$ms_grpc" "$work/bodies/mlserver-$rows.pb"
done

python3 - results.txt <<'PY'
import re, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    fields = dict(re.findall(r"(\w+)=([\d.]+)", line))
    runs.setdefault(line.split()[1], []).append(fields)
def median(label, key):
    return statistics.median(float(r[key]) for r in runs[label])
print("\n| requests | mlops req/s | mlops p99 | MLServer req/s | MLServer p99 | ratio (req/s) |")
print("|---|---|---|---|---|---|")
for kind in ("http", "grpc"):
    for rows in ("1", "100"):
        m, s = f"mlops-{kind}-{rows}", f"mlserver-{kind}-{rows}"
        print(f"| {kind.upper()} {rows} row{'s' if rows != '1' else ''} | {median(m, 'req_s'):,.0f} | {median(m, 'p99_ms'):.2f} ms "
              f"| {median(s, 'req_s'):,.0f} | {median(s, 'p99_ms'):.2f} ms | {median(m, 'req_s') / median(s, 'req_s'):.1f}x |")
one = runs["mlops-http-1"]
every = all(float(r["req_s"]) >= 12000 and float(r["p99_ms"]) <= 2 for r in one)
print(f"\nmlops HTTP one row, each run: " + ", ".join(f"{float(r['req_s']):,.0f} req/s p99 {float(r['p99_ms']):.2f} ms" for r in one))
print(f"target (>= 12,000 req/s and p99 <= 2 ms in every run): {'met' if every else 'NOT met'}")
PY
