#!/usr/bin/env bash
# Benchmark for issue 20: what recording and mirroring cost a cached `mlops train` (the no-op a
# CI job runs most), and MLflow's own client logging the same data, in the same run. Not a
# test: run by hand, about 5 minutes.
#
#   bash bench/tracking/run.sh                 # RUNS=15
#   OLD=/path/to/mlops bash bench/tracking/run.sh   # also the build before tracking existed
#
# - The bundled taxi example in a scratch repository, trained once; then `mlops train` with
#   nothing changed (every component cached): with no MLflow server (recording only), and with
#   MLFLOW_TRACKING_URI naming a real `mlflow server` on 127.0.0.1 (Tests/Tools/mlflow-server.sh:
#   SQLite backend, artifact proxy, 1 worker), so each run becomes an MLflow run with its params,
#   the Trainer's curve by round and the model folder uploaded:
#     - as users run it (tracking.background, the default): the command's own time, its run
#       sent by the detached `mlops runs sync` it starts (which runs on while the next
#       iteration starts, as it would in a CI job);
#     - until delivered: `mlops train && mlops runs sync` (the sync waits for the detached
#       sender), the whole cost of one mirrored run;
#     - sent before returning (a copy of the project with tracking.background: false).
#   With OLD, the same no-op with a binary from before run tracking (no recording at all).
#   hyperfine, interleaved, medians.
# - MLflow's client on the same data: one mirrored run's params, every metric value by step and
#   the model folder, logged with mlflow.start_run + log_params + log_metrics (one call per step)
#   + log_artifacts into the same server; timed in the process (import excluded) RUNS times, and
#   as a whole process.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="${BENCH_DIR:-/tmp/mlops-bench-tracking}"
runs="${RUNS:-15}"
needs=venv/bin/python setup_flags=--no-tfdv
source "$here/../common.sh"
mlflow_venv="$root/.build/mlflow-tools"
if ! "$mlflow_venv/bin/python" -c "import sys, mlflow; sys.exit(mlflow.__version__ != '3.17.2')" 2>/dev/null; then
  [ -x "$mlflow_venv/bin/pip" ] || python3 -m venv "$mlflow_venv"
  env -u PYTHONDONTWRITEBYTECODE "$mlflow_venv/bin/pip" install -q 'mlflow==3.17.2'
fi
rm -rf "$work"; mkdir -p "$work"; cd "$work"
pidfile="$work/mlflow.pid"
trap 'bash "$root/Tests/Tools/mlflow-server.sh" --stop "$pidfile" || true' EXIT
eval "$(MLOPS_MLFLOW_PYTHON="$mlflow_venv/bin/python" bash "$root/Tests/Tools/mlflow-server.sh" "$pidfile")"
server="$MLOPS_TEST_MLFLOW_URL"

"$mlops" init "$work/taxi" >/dev/null
cd "$work/taxi"
gitc init -q && gitc add -A && gitc commit -qm "taxi"
# The old binary refuses a store with the tracking migration: it gets a copy of its own.
[ -z "${OLD:-}" ] || { cp -a "$work/taxi" "$work/taxi-old"; "$OLD" --repo "$work/taxi-old" train >/dev/null 2>&1; }
MLFLOW_TRACKING_URI= "$mlops" train >/dev/null 2>&1
# The same project sending each run before the command returns.
cp -a "$work/taxi" "$work/taxi-fg"
printf '\ntracking:\n  background: false\n' >> "$work/taxi-fg/mlops.yaml"
(cd "$work/taxi-fg" && gitc commit -qam "send runs before returning")
# A store identity of its own: the copy's runs must not be taken for the original's in MLflow.
python3 -c 'import sqlite3, sys, uuid; db = sqlite3.connect(sys.argv[1]); db.execute("UPDATE store_identity SET id = ?", (uuid.uuid4().hex,)); db.commit()' "$work/taxi-fg/.mlops/store.sqlite"
mirror="env MLFLOW_TRACKING_URI=$server MLFLOW_EXPERIMENT_NAME=bench"
commands=(-n "train, recording only" "env MLFLOW_TRACKING_URI= $mlops train"
  -n "train, mirrored (background)" "$mirror $mlops train"
  -n "train, mirrored, until delivered" "$mirror bash -c '$mlops train && $mlops runs sync'"
  -n "train, mirrored before returning" "$mirror $mlops --repo $work/taxi-fg train")
[ -z "${OLD:-}" ] || commands+=(-n "train, before tracking" "env MLFLOW_TRACKING_URI= $OLD --repo $work/taxi-old train")
hyperfine -N --warmup 2 --runs "$runs" --export-json "$work/train.json" "${commands[@]}" >/dev/null 2>&1

# The data one mirrored run carried, for MLflow's own client.
last=$("$mlops" runs --json --limit 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"][0]["run"]["id"])')
"$mlops" runs show "$last" --json > "$work/run.json"
model=$(ls -d .mlops/artifacts/Trainer/model-* | head -1)
cat > "$work/log.py" <<'PY'
import json, statistics, sys, time, warnings
warnings.filterwarnings("ignore")
import mlflow
url, run_file, model, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
data = json.load(open(run_file))["result"]
params = data["params"]
by_step = {}
for metric in data["metrics"]:
    value = metric["value"]
    value = float(value) if isinstance(value, (int, float)) else float({"NaN": "nan", "Infinity": "inf", "-Infinity": "-inf"}[value])
    by_step.setdefault(metric["step"], {})[metric["key"]] = value
mlflow.set_tracking_uri(url)
mlflow.set_experiment("bench-mlflow-client")
times = []
for _ in range(runs):
    start = time.perf_counter()
    with mlflow.start_run():
        for i in range(0, len(params), 100):
            mlflow.log_params(dict(list(params.items())[i:i + 100]))
        for step, values in sorted(by_step.items()):
            mlflow.log_metrics(values, step=step)
        mlflow.log_artifacts(model, "model")
    times.append(time.perf_counter() - start)
print(json.dumps({"median": statistics.median(times), "params": len(params), "values": sum(len(v) for v in by_step.values()), "steps": len(by_step)}))
PY
"$mlflow_venv/bin/python" "$work/log.py" "$server" "$work/run.json" "$model" "$runs" 2>/dev/null | tail -1 > "$work/client.json"
hyperfine -N --warmup 1 --runs 5 --export-json "$work/process.json" \
  -n "mlflow client process" "$mlflow_venv/bin/python $work/log.py $server $work/run.json $model 1" >/dev/null 2>&1

python3 - "$work" <<'PY'
import json, statistics, sys
work = sys.argv[1]
train = {r["command"]: statistics.median(r["times"]) for r in json.load(open(f"{work}/train.json"))["results"]}
client = json.load(open(f"{work}/client.json"))
process = statistics.median(json.load(open(f"{work}/process.json"))["results"][0]["times"])
base = train["train, recording only"]
for name, seconds in train.items():
    print(f"{name:<28} {seconds * 1000:8.1f} ms   {seconds / base:5.2f}x recording only")
if "train, before tracking" in train:
    old = train["train, before tracking"]
    print(f"recording: {base / old:.2f}x the no-op before tracking; mirrored (background): {train['train, mirrored (background)'] / old:.2f}x (target: under 2x)")
mirror = train["train, mirrored before returning"] - base
print(f"mirroring one run: +{mirror * 1000:.1f} ms ({client['params']} params, {client['values']} metric values over {client['steps']} steps, the model folder)")
print(f"MLflow's client, same data, in process: {client['median'] * 1000:.1f} ms; as a process (import included): {process * 1000:.1f} ms")
print(f"ratio of medians, MLflow client in process / mlops mirroring: {client['median'] / mirror:.2f}x")
PY
