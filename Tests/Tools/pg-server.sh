#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 (Debian's postgresql-15, installed when missing) on
# 127.0.0.1, for the store tests and scripts/demo-shared.sh.
#
#   bash Tests/Tools/pg-server.sh PIDFILE    # prints `export MLOPS_TEST_POSTGRES_URL=...`
#   bash Tests/Tools/pg-server.sh --stop PIDFILE
#
# initdb into a new folder under /tmp (as the `postgres` user when run as root: initdb refuses
# root), a random password for the superuser `mlops` (scram-sha-256 over TCP), pg_ctl on a free
# port with listen_addresses=127.0.0.1 and fsync off. PIDFILE gets the postmaster's PID and the
# folder; --stop shuts that server down (fast) and removes the folder. The tests create and drop
# a database of their own each.
set -euo pipefail
bin=/usr/lib/postgresql/15/bin

if [ "${1:-}" = "--stop" ]; then
  pidfile=$2
  [ -s "$pidfile" ] || exit 0
  pid=$(sed -n 1p "$pidfile"); root=$(sed -n 2p "$pidfile")
  # SIGINT is PostgreSQL's fast shutdown: sessions are ended, the server exits cleanly.
  kill -INT "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  case "$root" in /tmp/mlops-pg.*) rm -rf "$root" ;; esac
  rm -f "$pidfile"
  exit 0
fi

pidfile=$1
if [ ! -x "$bin/initdb" ]; then
  # Debian's package would also make and start a cluster of its own: createcluster.conf stops
  # that, since only this throwaway one is wanted.
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
    $sudo mkdir -p /etc/postgresql-common
    echo "create_main_cluster = false" | $sudo tee /etc/postgresql-common/createcluster.conf >/dev/null
  fi
  echo "==> installing postgresql-15" >&2
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null
fi
root=$(mktemp -d /tmp/mlops-pg.XXXXXX)
chmod 700 "$root"
as=()
if [ "$(id -u)" -eq 0 ]; then chown postgres: "$root"; as=(runuser -u postgres --); fi
password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
printf '%s\n' "$password" > "$root/pw"
[ ${#as[@]} -eq 0 ] || chown postgres "$root/pw"
"${as[@]}" "$bin/initdb" -D "$root/data" -U mlops --pwfile="$root/pw" --auth-local=trust \
  --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync >"$root/initdb.log" 2>&1 \
  || { cat "$root/initdb.log" >&2; exit 1; }
rm -f "$root/pw"
for attempt in 1 2 3; do
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # 200 connections: the test suites run in parallel, each with stores of its own.
  if "${as[@]}" "$bin/pg_ctl" -D "$root/data" -l "$root/log" -w -t 30 -o \
    "-c listen_addresses=127.0.0.1 -p $port -k $root -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null; then
    printf '%s\n%s\n' "$(head -1 "$root/data/postmaster.pid")" "$root" > "$pidfile"
    echo "export MLOPS_TEST_POSTGRES_URL='postgresql://mlops:$password@127.0.0.1:$port/postgres?sslmode=disable'"
    exit 0
  fi
  [ "$attempt" -lt 3 ] || { cat "$root/log" >&2; exit 1; }
done
