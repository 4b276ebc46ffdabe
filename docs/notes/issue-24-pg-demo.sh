#!/bin/bash
# Start a throwaway PostgreSQL 15 on 127.0.0.1:$PGPORT as root's helper user "postgres".
set -euo pipefail
BIN=/usr/lib/postgresql/15/bin
T=$(date +%s%N); ms() { echo "  [$(( ($(date +%s%N)-T)/1000000 )) ms]"; }
PGROOT=$(mktemp -d /tmp/pgtest.XXXXXX)
chown postgres:postgres "$PGROOT"; chmod 700 "$PGROOT"
PGPORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
echo "root=$PGROOT port=$PGPORT"
printf '%s\n' 'test-secret' > "$PGROOT/pw"; chown postgres "$PGROOT/pw"
runuser -u postgres -- $BIN/initdb -D "$PGROOT/data" -U mlops --pwfile="$PGROOT/pw" \
  --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
echo "initdb done"; ms
runuser -u postgres -- $BIN/pg_ctl -D "$PGROOT/data" -l "$PGROOT/log" -w -t 30 \
  -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGROOT -c fsync=off -c max_connections=100" start
ms
# TCP, password (scram) as root:
PGPASSWORD=test-secret psql "postgresql://mlops@127.0.0.1:$PGPORT/postgres" -Atc "create database t1" 
PGPASSWORD=test-secret psql "postgresql://mlops@127.0.0.1:$PGPORT/t1" -Atc "select version()" | cut -c1-60
# unix socket in $PGROOT (trust for local):
psql -h "$PGROOT" -p $PGPORT -U mlops -d t1 -Atc "select current_user, inet_server_addr() is null as via_socket"
PGPASSWORD=wrong psql "postgresql://mlops@127.0.0.1:$PGPORT/t1" -Atc "select 1" 2>&1 | tail -1 || true
ss -ltnp | grep ":$PGPORT " | awk '{print "listening on",$4}'
ls "$PGROOT" | tr '\n' ' '; echo
psql -h "$PGROOT" -p $PGPORT -U mlops -d postgres -Atc "drop database t1" ; ms
runuser -u postgres -- $BIN/pg_ctl -D "$PGROOT/data" -m fast -w stop
ms
rm -rf "$PGROOT"
