#!/usr/bin/env bash
# Benchmark for issue 21, item 1: what the prediction log costs `mlops serve`. The same model
# served twice, the log off and the log on at sampling 1.0, same run; wrk, 8 connections.
# Target: throughput within 10% and p99 within 1 ms of the log off. Not a test: run by hand,
# about 5 minutes.
#
#   bash bench/monitoring/log.sh        # RUNS=5 DURATION=10 (seconds per run) CONNECTIONS=8
#
# - The bundled taxi example trained with `mlops train`; `mlops serve latest` twice on the same
#   model folder: `--log-predictions none` and `--log-predictions DIR` (every request, one JSON
#   line a request, files published at 64 MiB).
# - HTTP JSON through the Open Inference Protocol: one-row and 100-row requests (the bodies of
#   bench/serve/oip_bodies.py); wrk on loopback, 2 threads, 8 connections (bench/serve/post.lua).
# - Each configuration: a 3 s warm-up, then RUNS runs of DURATION s, the two servers in turn
#   (the other idle). Reports each run, the medians, the ratio of medians, and the share of
#   the rows offered that the log wrote (the rest dropped under overload, /metrics).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
serve="$here/../serve"
work="${BENCH_DIR:-/tmp/mlops-bench-log}"
runs="${RUNS:-5}"
duration="${DURATION:-10}"
connections="${CONNECTIONS:-8}"
threads=$(( connections < 2 ? connections : 2 ))
needs=venv/bin/python setup_flags=--no-tfdv
source "$here/../common.sh"
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
triton="$root/.build/triton-tools"
if ! "$triton/bin/python" -c "import tritonclient.grpc" 2>/dev/null; then
  [ -x "$triton/bin/pip" ] || python3 -m venv "$triton"
  env -u PYTHONDONTWRITEBYTECODE "$triton/bin/pip" install -q 'tritonclient[http,grpc]==2.73.0'
fi
rm -rf "$work"; mkdir -p "$work/bodies"; cd "$work"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
load() { echo "load $(cut -d' ' -f1-3 /proc/loadavg)"; }

# The servers' PIDs, in files: `start` runs in a subshell ($(…)), which cannot set a variable here.
stop() { for file in "$work"/*.pid; do [ -f "$file" ] && { kill "$(cat "$file")" 2>/dev/null || true; rm -f "$file"; }; done; sleep 1; }
trap stop EXIT

echo "== versions: $("$mlops" --version), wrk $(wrk -v 2>&1 | head -1 | cut -d' ' -f2), $(nproc) cores, $(load)"
project="$work/taxi"
"$mlops" init "$project" >/dev/null
(cd "$project" && gitc add -A && gitc commit -qm "taxi example")
"$mlops" train --repo "$project" >/dev/null 2>&1

start() {  # start NAME LOG-ARGUMENT → port
  local port; port=$(free_port)
  "$mlops" serve latest --repo "$project" --port "$port" --name taxi --log-predictions "$2" > "$1.log" 2>&1 &
  echo $! > "$work/$1.pid"
  for _ in $(seq 200); do grep -q '^ready' "$1.log" && break; sleep 0.1; done
  grep '^listening\|^ready\|^logging' "$1.log" >&2
  echo "$port"
}
off=$(start off none)
on=$(start on "$work/predictions")
curl -sf "http://127.0.0.1:$off/v2/models/taxi" > bodies/metadata.json
"$triton/bin/python" "$serve/oip_bodies.py" "$project/data/data.csv" bodies/metadata.json bodies 1 100

run() {  # run LABEL PORT BODY
  BODY="$3" wrk -t"$threads" -c"$connections" -d3s -s "$serve/post.lua" "http://127.0.0.1:$2/v2/models/taxi/infer" >/dev/null
}
echo "== $runs runs of ${duration} s each, $connections connections, after a 3 s warm-up, the two servers in turn"
counter() { curl -sf "http://127.0.0.1:$on/metrics" | awk -v name="$1" '$1 == name { print $2 }'; }
for rows in 1 100; do
  written=$(counter mlops_prediction_log_rows_total); dropped=$(counter mlops_prediction_log_dropped_rows_total)
  body="$work/bodies/mlops-$rows.json"
  run off "$off" "$body"; run on "$on" "$body"
  for i in $(seq "$runs"); do
    for label in off on; do
      port=$off; [ "$label" = on ] && port=$on
      BODY="$body" wrk -t"$threads" -c"$connections" -d"${duration}s" --latency -s "$serve/post.lua" "http://127.0.0.1:$port/v2/models/taxi/infer" \
        | grep '^RESULT' | sed "s/^RESULT/RESULT $label-$rows run=$i/" | tee -a results.txt
    done
  done
  echo "   ($(load))"
  sleep 2  # the writer catches up with what is queued
  written=$(( $(counter mlops_prediction_log_rows_total) - written ))
  dropped=$(( $(counter mlops_prediction_log_dropped_rows_total) - dropped ))
  echo "LOGGED rows=$rows written=$written dropped=$dropped share=$(python3 -c "print(f'{$written / max(1, $written + $dropped):.3f}')")" | tee -a results.txt
done
metrics=$(curl -sf "http://127.0.0.1:$on/metrics" | grep '^mlops_prediction_log')
echo "$metrics"
stop
echo "log: $(ls "$work/predictions" | wc -l) files, $(du -sh "$work/predictions" | cut -f1)"

python3 - results.txt <<'PY'
import re, statistics, sys
runs = {}
logged = {}
for line in open(sys.argv[1]):
    fields = dict(re.findall(r"(\w+)=([\d.]+)", line))
    if line.startswith("LOGGED"):
        logged[fields["rows"]] = fields
        continue
    runs.setdefault(line.split()[1], []).append(fields)
def median(label, key):
    return statistics.median(float(r[key]) for r in runs[label])
print("\n| request | log off req/s | log off p99 | log on req/s | log on p99 | on / off (req/s) | p99 change | rows logged |")
print("|---|---|---|---|---|---|---|---|")
met = True
for rows in ("1", "100"):
    off, on = f"off-{rows}", f"on-{rows}"
    ratio = median(on, "req_s") / median(off, "req_s")
    delta = median(on, "p99_ms") - median(off, "p99_ms")
    met = met and ratio >= 0.9 and delta <= 1
    print(f"| {rows} row{'s' if rows != '1' else ''} | {median(off, 'req_s'):,.0f} | {median(off, 'p99_ms'):.2f} ms "
          f"| {median(on, 'req_s'):,.0f} | {median(on, 'p99_ms'):.2f} ms | {ratio:.3f} | {delta:+.2f} ms "
          f"| {float(logged[rows]['share']) * 100:.1f}% |")
print(f"\ntarget (log on: req/s within 10%, p99 within 1 ms, both sizes): {'met' if met else 'NOT met'}")
PY
