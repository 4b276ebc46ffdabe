#!/usr/bin/env bash
# Starts a real MLflow tracking server (PyPI mlflow, the venv named by MLOPS_MLFLOW_PYTHON or
# .build/mlflow-tools) on 127.0.0.1: SQLite backend store and a local artifact root served
# through its artifact proxy, one worker. For the tracking tests and the bench.
#
#   bash Tests/Tools/mlflow-server.sh PIDFILE [PORT]   # prints `export MLOPS_TEST_MLFLOW_URL=...`
#   bash Tests/Tools/mlflow-server.sh --stop PIDFILE
#
# PIDFILE gets the server's PID and its folder (/tmp/mlops-mlflow.*); --stop sends SIGTERM to
# its process group (the server and its workers), waits, and removes the folder. Started again with the same
# folder (MLOPS_MLFLOW_DIR) and port, it keeps its runs: the tests stop and restart one.
# MLOPS_MLFLOW_ADMIN_PASSWORD set: MLflow's basic-auth app (pip mlflow[auth]), its admin user
# `admin` with that password, every other request refused with 401.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
python=${MLOPS_MLFLOW_PYTHON:-$here/.build/mlflow-tools/bin/python}

if [ "${1:-}" = "--stop" ]; then
  pidfile=$2
  [ -s "$pidfile" ] || exit 0
  pid=$(sed -n 1p "$pidfile"); root=$(sed -n 2p "$pidfile")
  # The whole group (setsid made the server its leader): the CLI, uvicorn and the job runners.
  kill -TERM -- "-$pid" 2>/dev/null || true
  for _ in $(seq 150); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  [ "${MLOPS_MLFLOW_KEEP:-}" = 1 ] || case "$root" in /tmp/mlops-mlflow.*) rm -rf "$root" ;; esac
  rm -f "$pidfile"
  exit 0
fi

pidfile=$1
port=${2:-$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
root=${MLOPS_MLFLOW_DIR:-$(mktemp -d /tmp/mlops-mlflow.XXXXXX)}
mkdir -p "$root/artifacts"
bin=$(dirname "$python")
app=()
if [ -n "${MLOPS_MLFLOW_ADMIN_PASSWORD:-}" ]; then
  printf '[mlflow]\ndefault_permission = READ\ndatabase_uri = sqlite:///%s/auth.db\nadmin_username = admin\nadmin_password = %s\nauthorization_function = mlflow.server.auth:authenticate_request_basic_auth\n' \
    "$root" "$MLOPS_MLFLOW_ADMIN_PASSWORD" > "$root/auth.ini"
  export MLFLOW_AUTH_CONFIG_PATH="$root/auth.ini"
  export MLFLOW_FLASK_SERVER_SECRET_KEY
  MLFLOW_FLASK_SERVER_SECRET_KEY=$("$python" -c 'import secrets; print(secrets.token_hex(16))')
  app=(--app-name basic-auth)
fi
# setsid: the server and its workers in a group of their own, stopped together.
setsid "$bin/mlflow" server --backend-store-uri "sqlite:///$root/mlflow.db" --artifacts-destination "$root/artifacts" \
  --host 127.0.0.1 --port "$port" --workers 1 "${app[@]}" >"$root/server.log" 2>&1 < /dev/null &
pid=$!
printf '%s\n%s\n' "$pid" "$root" > "$pidfile"
for _ in $(seq 120); do
  if "$python" -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:$port/health', timeout=1).status == 200 else 1)" 2>/dev/null; then
    echo "export MLOPS_TEST_MLFLOW_URL='http://127.0.0.1:$port'"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then break; fi
  sleep 0.5
done
echo "the MLflow server did not start; its log:" >&2
tail -30 "$root/server.log" >&2
kill -TERM "$pid" 2>/dev/null || true
exit 1
