#!/usr/bin/env bash
# Benchmark for serving (`mlops serve`, docs/serving.md) against `mlflow models serve`. Not a test:
# run by hand. Takes about 3 minutes (plus MLflow's first-time setup of its venv).
#
#   bash bench/serve/run.sh        # DURATION=15 SOAK=60 (seconds)
#
# 1. Trains the bundled taxi example (15k rows) with `mlops train`.
# 2. Logs the SAME model.json to MLflow (`mlflow.xgboost.log_model` of an xgb.Booster loaded from
#    it, sqlite tracking store under the work dir) and serves it with
#    `mlflow models serve --env-manager local --workers 1`; `mlops serve latest` serves the model
#    folder. Both get the same data row (a real row of data/data.csv): mlops the raw row in the
#    Open Inference Protocol v2 shape (one tensor per raw feature, POST /v2/models/taxi/infer),
#    MLflow that row's transformed features as read from mlops' Transform output
#    (`dataframe_split`, POST /invocations). Both predictions are printed and must agree.
#    MLflow does LESS work per request: no transform (mlops applies the fitted transform to the
#    raw row on every request), which favours the peer.
# 3. Throughput and latency: wrk on loopback, 2 threads, 8 connections, DURATION s, one-row
#    POSTs (post.lua), --latency, after a 3 s warm-up of each; each server in turn (the other one
#    idle). Reports req/s, p50, p99 each side, the ratio of throughputs
#    (mlops / MLflow), and the answers that were not 200. Goal: at least 100x, p99 under 5 ms.
# 4. Soak of mlops serve: SOAK s at 8 connections, every 100th request of a thread malformed,
#    rotating among invalid JSON, an unknown feature, a missing feature, a string for `fare` and a
#    wrong shape (soak.lua). Counts of 2xx/4xx/5xx and socket errors, the 4xx sorted by refusal
#    message, the server's RSS (VmRSS) every 5 s, and its /metrics request counters. Requirement:
#    zero 5xx, zero socket errors, every valid request 200, memory flat.
# 5. A Python `requests` client (client.py) in the OIP v2 shape against mlops serve.
# 6. Stops both servers with SIGTERM (a trap also does it on any exit): mlops must exit 0.
# Exits 1 if a requirement of 4/6 or an answer in 3 failed; the throughput goals are reported.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="${BENCH_DIR:-/tmp/mlops-bench-serve}"
duration="${DURATION:-15}"
soak="${SOAK:-60}"
needs=venv-mlops/bin/mlflow setup_flags=--no-tfdv
source "$here/../common.sh"
venv="$peers/venv-mlops"
py() { env -u PYTHONDONTWRITEBYTECODE "$venv/bin/python" "$@"; }
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
rm -rf "$work"; mkdir -p "$work/bodies"; cd "$work"
load() { echo "(load average $(cut -d' ' -f1-3 /proc/loadavg))"; }
failed=()

# --- servers: started here, stopped by stop_servers (also on any exit) ---
mlops_pid="" mlflow_pid="" sampler_pid=""
alive() { [ -e "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
group_alive() { ps -e -o pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ {found = 1} END {exit !found}'; }
# term PID [group]: SIGTERM (to its process group with `group`), SIGKILL after 15 s; the exit
# status goes to $term_status.
term() {
  local pid=$1 target=$1
  [ "${2:-}" = group ] && target="-$1"
  kill -TERM -- "$target" 2>/dev/null || true
  for _ in $(seq 150); do
    alive "$pid" || { [ "${2:-}" = group ] && group_alive "$pid"; } || break
    sleep 0.1
  done
  if alive "$pid" || { [ "${2:-}" = group ] && group_alive "$pid"; }; then
    echo "warning: $pid still running 15 s after SIGTERM: SIGKILL" >&2
    kill -KILL -- "$target" 2>/dev/null || true
  fi
  term_status=0; wait "$pid" 2>/dev/null || term_status=$?
}
stop_servers() {
  [ -z "$sampler_pid" ] || { kill "$sampler_pid" 2>/dev/null || true; wait "$sampler_pid" 2>/dev/null || true; }
  [ -z "$mlflow_pid" ] || { term "$mlflow_pid" group; mlflow_pid=""; }
  [ -z "$mlops_pid" ] || { term "$mlops_pid"; mlops_pid=""; }
}
trap stop_servers EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# wait_for URL PID LOG: until URL answers 200 (120 s at most, the server must stay up).
wait_for() {
  for _ in $(seq 1200); do
    curl -sf -o /dev/null "$1" && return 0
    alive "$2" || { echo "server exited:" >&2; tail -n 20 "$3" >&2; return 1; }
    sleep 0.1
  done
  echo "$1 not ready after 120 s" >&2; tail -n 20 "$3" >&2; return 1
}
post() { curl -s -X POST -H 'Content-Type: application/json' --data-binary "@$2" "$1"; }

echo "== versions"
"$mlops" --version | sed 's/^/mlops /'
echo "binary $mlops, built $(date -r "$mlops" '+%F %T'), sha256 $(sha256sum "$mlops" | cut -c1-16)"
py -c 'import mlflow, xgboost, pandas, requests; print(f"mlflow {mlflow.__version__}, xgboost {xgboost.__version__}, pandas {pandas.__version__}, requests {requests.__version__}")'
wrk -v 2>&1 | head -1 || true
echo "$(nproc) cores; $(load)"

echo "== 1. train the taxi example (15k rows) with mlops"
project="$work/taxi"
"$mlops" init "$project" >/dev/null
(cd "$project" && gitc add -A && gitc commit -qm "taxi example")
"$mlops" train --repo "$project" 2>/dev/null | grep -E '^(Transform|Trainer) '
model_dir=$(ls -d "$project"/.mlops/artifacts/Trainer/model-*)
transformed=$(ls -d "$project"/.mlops/artifacts/Transform/transformed-*)
echo "model folder: $model_dir"

echo "== 2. serve it: mlops serve, and the same model.json logged to MLflow"
"$mlops" serve latest --repo "$project" --port 0 --name taxi > mlops-serve.log 2>&1 &
mlops_pid=$!
for _ in $(seq 100); do grep -q '^listening on' mlops-serve.log && break; alive "$mlops_pid" || break; sleep 0.1; done
grep '^listening on' mlops-serve.log || { cat mlops-serve.log; exit 1; }
mlops_url=$(grep -o 'http://[0-9.:]*' mlops-serve.log | head -1)
wait_for "$mlops_url/v2/health/ready" "$mlops_pid" mlops-serve.log
curl -sf "$mlops_url/v2/models/taxi" > bodies/metadata.json
py "$here/make_bodies.py" "$project/data/data.csv" "$model_dir/transform.json" "$transformed" \
  bodies/metadata.json bodies

export MLFLOW_TRACKING_URI="sqlite:///$work/mlflow.db"
model_uri=$(py "$here/log_model.py" "$model_dir/model.json" 2> log_model.log) || { cat log_model.log; exit 1; }
grep '^logged in' log_model.log
echo "MLflow model: $model_uri"
mlflow_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# Its own process group (setsid), so that the CLI and the uvicorn it starts stop together.
# uvicorn must be on PATH: the CLI runs `exec uvicorn …` in a shell.
PATH="$venv/bin:$PATH" setsid env -u PYTHONDONTWRITEBYTECODE "$venv/bin/mlflow" models serve \
  -m "$model_uri" --env-manager local --host 127.0.0.1 -p "$mlflow_port" --workers 1 > mlflow-serve.log 2>&1 &
mlflow_pid=$!
start=$(date +%s.%N)
wait_for "http://127.0.0.1:$mlflow_port/health" "$mlflow_pid" mlflow-serve.log
mlflow_url="http://127.0.0.1:$mlflow_port"
echo "mlflow models serve ready on $mlflow_url after $(python3 -c "import time; print(f'{time.time() - $start:.1f}')") s"

ours=$(post "$mlops_url/v2/models/taxi/infer" bodies/mlops.json)
theirs=$(post "$mlflow_url/invocations" bodies/mlflow.json)
echo "mlops  POST /v2/models/taxi/infer ($(wc -c < bodies/mlops.json) bytes, raw row) -> $ours"
echo "MLflow POST /invocations ($(wc -c < bodies/mlflow.json) bytes, transformed row) -> $theirs"
python3 - "$ours" "$theirs" <<'PY' || failed+=("the two servers' predictions differ")
import json, sys
ours = next(o["data"][0] for o in json.loads(sys.argv[1])["outputs"] if o["name"] == "probabilities")
theirs = json.loads(sys.argv[2])["predictions"][0]
print(f"same row, same model: mlops {ours:.8f}, MLflow {theirs:.8f}, difference {abs(ours - theirs):.1e}")
sys.exit(0 if abs(ours - theirs) < 1e-6 else 1)
PY

echo "== 3. wrk: 2 threads, 8 connections, ${duration} s, one-row POSTs, loopback"
echo "(MLflow gets the transformed row and does no transform per request: that favours MLflow)"
bench() {  # bench NAME URL BODY
  BODY="$3" wrk -t2 -c8 -d3s -s "$here/post.lua" "$2" > "warmup-$1.txt"
  echo "-- $1: $2 $(load)"
  BODY="$3" wrk -t2 -c8 -d"${duration}s" --latency -s "$here/post.lua" "$2" | tee "wrk-$1.txt"
  grep -q '^RESULT.* non200=0 socket_errors=0$' "wrk-$1.txt" || failed+=("$1: answers other than 200 or socket errors under wrk")
}
mlops_rss_before=$(awk '/^VmRSS/ {print $2}' "/proc/$mlops_pid/status")
bench mlops "$mlops_url/v2/models/taxi/infer" "$work/bodies/mlops.json"
bench mlflow "$mlflow_url/invocations" "$work/bodies/mlflow.json"
mlflow_rss=$(ps -o rss= -g "$mlflow_pid" 2>/dev/null | awk '{s += $1} END {print s}' || true)
term "$mlflow_pid" group; mlflow_pid=""
echo "mlflow models serve stopped (SIGTERM to its process group; CLI exit status $term_status)"

python3 - "$work" "$mlops_rss_before" "${mlflow_rss:-0}" "$(awk '/^VmRSS/ {print $2}' "/proc/$mlops_pid/status")" <<'PY' | tee summary.txt
import re, sys
work, rss_before, mlflow_rss, rss_after = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def result(name):
    line = next(l for l in open(f"{work}/wrk-{name}.txt") if l.startswith("RESULT"))
    return {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", line)}
m, f = result("mlops"), result("mlflow")
print("\n| server | req/s | p50 | p99 | non-200 | socket errors | RSS |")
print("|---|---|---|---|---|---|---|")
print(f"| mlops serve | {m['req_s']:.0f} | {m['p50_ms']:.2f} ms | {m['p99_ms']:.2f} ms | {m['non200']:.0f} | {m['socket_errors']:.0f} | {rss_before // 1024} → {rss_after // 1024} MiB |")
print(f"| mlflow models serve, 1 worker | {f['req_s']:.1f} | {f['p50_ms']:.1f} ms | {f['p99_ms']:.1f} ms | {f['non200']:.0f} | {f['socket_errors']:.0f} | {mlflow_rss // 1024} MiB (CLI + uvicorn) |")
ratio = m["req_s"] / f["req_s"]
print(f"\nthroughput ratio mlops / MLflow: {ratio:.1f}x (goal at least 100x: {'met' if ratio >= 100 else 'NOT met'}); "
      f"mlops p99 {m['p99_ms']:.2f} ms (goal under 5 ms: {'met' if m['p99_ms'] < 5 else 'NOT met'})")
PY

echo "== 4. soak: mlops serve, ${soak} s, 8 connections, 1 request in 100 malformed"
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
(for t in $(seq 0 5 "$soak"); do echo "$t $(rss "$mlops_pid")"; [ "$t" -ge "$soak" ] || sleep 5; done) > rss.txt &
sampler_pid=$!
echo "-- $(load)"
DIR="$work/bodies" wrk -t2 -c8 -d"${soak}s" --latency -s "$here/soak.lua" "$mlops_url/v2/models/taxi/infer" | tee soak.txt
wait "$sampler_pid" || true; sampler_pid=""
sleep 5; echo "$((soak + 5)) $(rss "$mlops_pid") (idle, 5 s after the soak)" >> rss.txt
echo "RSS of mlops serve during the soak (seconds, KiB):"
awk '{printf "  t=%3ss  %s KiB%s\n", $1, $2, ($3 ? "  " $3 " " $4 " " $5 " " $6 " " $7 " " $8 : "")}' rss.txt
awk '/^VmHWM/ {print "  peak (VmHWM) " $2 " KiB"}' "/proc/$mlops_pid/status"
python3 - rss.txt <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
series = [int(r[1]) for r in rows[:-1]]
half = len(series) // 2
first, second = series[1:half + 1], series[half:]
print(f"  growth over the soak: {series[-1] - series[1]:+d} KiB from t=5s to the end; "
      f"mean of the first half {sum(first) / len(first):.0f} KiB, second half {sum(second) / len(second):.0f} KiB")
PY
grep -q '^SOAK .* 5xx=0 other_status=0 socket_errors=0 ' soak.txt || failed+=("soak: 5xx, other statuses or socket errors")
grep -q ' other=0; 2xx without predictions=0$' soak.txt || failed+=("soak: a refusal with an unexpected message, or a 2xx without predictions")
python3 - soak.txt <<'PY' || failed+=("soak: valid requests not answered 200, or malformed ones not refused")
import re, sys
text = open(sys.argv[1]).read()
ok = int(re.search(r"2xx=(\d+)", text).group(1))
valid = int(re.search(r"sent valid=(\d+)", text).group(1))
flight = int(re.search(r"so (\d+) unanswered", text).group(1))
kinds = re.findall(r"(\w+)=(\d+)/(\d+)", text)
refused, sent = sum(int(a) for _, a, _ in kinds), sum(int(s) for _, _, s in kinds)
# The requests still in flight when wrk stops are never answered; all others must be right.
print(f"valid requests: {valid}, answered 200: {ok}; malformed: {sent}, refused with the expected 4xx: {refused}; "
      f"{flight} in flight at the stop (never answered)")
sys.exit(0 if valid - ok + sent - refused == flight else 1)
PY
echo "mlops serve's /metrics after the soak (infer route):"
curl -sf "$mlops_url/metrics" | grep '^mlops_http_requests_total' | grep 'infer' | sed 's/^/  /'
echo "after the soak: /v2/health/ready $(curl -s -o /dev/null -w '%{http_code}' "$mlops_url/v2/health/ready"), a valid row -> $(post "$mlops_url/v2/models/taxi/infer" bodies/mlops.json)"

echo "== 5. a Python client (requests) in the OIP v2 shape"
py "$here/client.py" "$mlops_url" taxi "$project/data/data.csv" 1 || failed+=("the Python client")

echo "== 6. stop mlops serve (SIGTERM)"
term "$mlops_pid"; mlops_pid=""
echo "mlops serve exited with status $term_status"
[ "$term_status" -eq 0 ] || failed+=("mlops serve exited $term_status on SIGTERM")

if [ "${#failed[@]}" -gt 0 ]; then
  printf 'FAILED: %s\n' "${failed[@]}"
  exit 1
fi
echo "all requirements held (throughput goals: see the summary above); files in $work"
