#!/usr/bin/env bash
# Seldon MLServer as a peer for the `mlops serve` benchmark: serves an XGBoost JSON model as "taxi".
#
# usage: mlserver_setup.sh MODEL_JSON WORKDIR HTTP_PORT GRPC_PORT   start, wait until ready
#        mlserver_setup.sh --stop WORKDIR                           stop the one started in WORKDIR
#
# The venv lives at ${PEERS_DIR:-/tmp/mlops-peers}/venv-mlserver and is reused if it already imports.
# MLServer's XGBoost runtime takes the already-transformed float matrix [N, F] (one input tensor)
# and answers `predict`, which for a binary:logistic model is the probability of class 1.
set -euo pipefail

MLSERVER_VERSION=1.7.1          # both mlserver and mlserver-xgboost
XGBOOST_VERSION=3.2.0           # what mlserver-xgboost 1.7.1 resolved to here (grpcio 1.85.4, numpy 2.4.6)

if [ "${1:-}" = "--stop" ]; then
  workdir="${2:?usage: mlserver_setup.sh --stop WORKDIR}"
  pidfile="$workdir/mlserver.pid"
  [ -f "$pidfile" ] || { echo "no $pidfile: nothing to stop"; exit 0; }
  pid="$(cat "$pidfile")"
  # setsid made the server the leader of its own process group, so -PID is exactly its group.
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "mlserver $pid still alive after 10 s: SIGKILL" >&2
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$pidfile"
  echo "mlserver stopped (pid $pid)"
  exit 0
fi

model_json="$(realpath "${1:?usage: mlserver_setup.sh MODEL_JSON WORKDIR HTTP_PORT GRPC_PORT}")"
workdir="${2:?}"; http_port="${3:?}"; grpc_port="${4:?}"
venv="${PEERS_DIR:-/tmp/mlops-peers}/venv-mlserver"
if [ -f "$workdir/mlserver.pid" ] && kill -0 "$(cat "$workdir/mlserver.pid")" 2>/dev/null; then
  echo "mlserver already running in $workdir (pid $(cat "$workdir/mlserver.pid")); use --stop first" >&2
  exit 1
fi

# 1. The venv: reuse it if mlserver and its XGBoost runtime import at the pinned version.
if ! "$venv/bin/python" -c "import mlserver, mlserver_xgboost, sys; sys.exit(mlserver.__version__ != '$MLSERVER_VERSION')" 2>/dev/null; then
  "${PYTHON:-/usr/bin/python3}" -m venv "$venv"    # Debian's 3.11, not whatever python3 is on PATH
  "$venv/bin/pip" install -q --disable-pip-version-check \
    "mlserver==$MLSERVER_VERSION" "mlserver-xgboost==$MLSERVER_VERSION" "xgboost==$XGBOOST_VERSION"
fi

# 2. The model repository: server settings at the root, one folder per model.
mkdir -p "$workdir/taxi"
workdir="$(realpath "$workdir")"
cp "$model_json" "$workdir/taxi/model.json"
# parallel_workers 0: inference in the server process (the worker pool fails to start here).
# metrics_endpoint null: no Prometheus server on a third port (default 8082).
cat > "$workdir/settings.json" <<EOF
{
  "debug": false,
  "host": "127.0.0.1",
  "http_port": $http_port,
  "grpc_port": $grpc_port,
  "parallel_workers": 0,
  "metrics_endpoint": null,
  "load_models_at_startup": true
}
EOF
cat > "$workdir/taxi/model-settings.json" <<EOF
{
  "name": "taxi",
  "implementation": "mlserver_xgboost.XGBoostModel",
  "parameters": { "uri": "./model.json" }
}
EOF

# 3. Start it in its own process group (run from WORKDIR so its .envs/.metrics/.env stay there).
log="$workdir/mlserver.log"
# The background subshell is not a group leader (no job control in a script), so setsid does not
# fork: $! is the mlserver process itself and the leader of its new group.
(cd "$workdir" && exec setsid "$venv/bin/mlserver" start "$workdir" >"$log" 2>&1 </dev/null) &
pid=$!
echo "$pid" > "$workdir/mlserver.pid"

url="http://127.0.0.1:$http_port/v2/models/taxi/ready"
for _ in $(seq 1 240); do            # 240 x 0.5 s = 120 s
  if ! kill -0 "$pid" 2>/dev/null; then
    rm -f "$workdir/mlserver.pid"
    echo "mlserver exited before it was ready; log tail:" >&2; tail -n 40 "$log" >&2; exit 1
  fi
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "$url" || true)" = 200 ]; then
    echo "mlserver ready http=$http_port grpc=$grpc_port (pid $pid, log $log)"
    exit 0
  fi
  sleep 0.5
done
echo "mlserver not ready after 120 s (still running: stop it with --stop $workdir); log tail:" >&2
tail -n 40 "$log" >&2
exit 1
