#!/usr/bin/env bash
# Benchmark for the metadata store on PostgreSQL (issue 24). Not a test: run by hand.
#
#   bash bench/storage/store.sh        # RUNS=10
#
# The taxi template (its bundled 15,002 rows) in a git repository. Debian's PostgreSQL 15 on
# 127.0.0.1 (Tests/Tools/pg-server.sh; fsync off, as in the tests). Same run, medians
# (hyperfine):
# 1. a no-op `mlops train` (every component cached) with the store on PostgreSQL
#    (`MLOPS_STORE=postgresql://…`) against the embedded SQLite store: the server's round trips
#    must not make the everyday command slow;
# 2. `mlops runs` on both stores after the runs of step 1;
# 3. eight `mlops train` processes at once in eight clones, one PostgreSQL store, against the
#    same eight each with its own SQLite store: what sharing one store costs under load.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="${BENCH_DIR:-/tmp/mlops-bench-store}"
runs="${RUNS:-10}"
mkdir -p "$work"
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine >/dev/null
[ -n "${MLOPS_BENCH_NO_BUILD:-}" ] || (cd "$root" && swift build -c release --product mlops --static-swift-stdlib \
  --scratch-path .build-static >/dev/null)
mlops="$root/.build-static/release/mlops"
gitc() { git -c user.name=bench -c user.email=bench@mlops.invalid -c init.defaultBranch=main "$@"; }

pgpid="$work/pg.pid"
stop() { bash "$root/Tests/Tools/pg-server.sh" --stop "$pgpid" || true; }
trap stop EXIT
eval "$(bash "$root/Tests/Tools/pg-server.sh" "$pgpid")"
for database in noop load; do psql -q "$MLOPS_TEST_POSTGRES_URL" -c "CREATE DATABASE $database"; done
base="${MLOPS_TEST_POSTGRES_URL%/postgres?*}"
noop="$base/noop?sslmode=disable"
load="$base/load?sslmode=disable"

rm -rf "$work/seed" "$work/sqlite" "$work/pg" "$work"/clone-*
"$mlops" init "$work/seed" >/dev/null
(cd "$work/seed" && gitc add -A && gitc commit -qm "taxi")
gitc clone -q "$work/seed" "$work/sqlite"
gitc clone -q "$work/seed" "$work/pg"
"$mlops" --repo "$work/sqlite" train >/dev/null 2>&1
MLOPS_STORE="$noop" "$mlops" --repo "$work/pg" train >/dev/null 2>&1

echo "== no-op mlops train: PostgreSQL store vs SQLite store ($((runs * 3)) runs)"
hyperfine -N --runs "$((runs * 3))" --warmup 2 --export-json "$work/noop.json" \
  -n "no-op train, PostgreSQL store" "env MLOPS_STORE=$noop $mlops --repo $work/pg train" \
  -n "no-op train, SQLite store" "$mlops --repo $work/sqlite train"

echo "== mlops runs: PostgreSQL store vs SQLite store ($((runs * 3)) runs)"
hyperfine -N --runs "$((runs * 3))" --warmup 2 --export-json "$work/runs.json" \
  -n "mlops runs, PostgreSQL store" "env MLOPS_STORE=$noop $mlops --repo $work/pg runs" \
  -n "mlops runs, SQLite store" "$mlops --repo $work/sqlite runs"

for index in 1 2 3 4 5 6 7 8; do gitc clone -q "$work/seed" "$work/clone-$index"; done
# One round: the eight clones' .mlops removed, eight trains started at once, all waited for.
cat > "$work/eight.sh" <<SH
#!/usr/bin/env bash
set -e
pids=()
for index in 1 2 3 4 5 6 7 8; do
  rm -rf "$work/clone-\$index/.mlops"
  if [ "\$1" = shared ]; then
    MLOPS_STORE="$load" "$mlops" --repo "$work/clone-\$index" train >/dev/null 2>&1 & pids+=(\$!)
  else
    "$mlops" --repo "$work/clone-\$index" train >/dev/null 2>&1 & pids+=(\$!)
  fi
done
for pid in "\${pids[@]}"; do wait "\$pid"; done
SH
echo "== eight mlops train at once: one PostgreSQL store vs eight SQLite stores ($runs runs)"
hyperfine --runs "$runs" --warmup 1 --export-json "$work/eight.json" \
  -n "8 trains, one PostgreSQL store" "bash $work/eight.sh shared" \
  -n "8 trains, own SQLite stores" "bash $work/eight.sh own"
echo "store after the load runs: $(psql -Atq "$load" -c "SELECT count(*) FROM contexts WHERE type = 'run'") runs," \
  "$(psql -Atq "$load" -c "SELECT count(*) FROM executions WHERE state NOT IN ('COMPLETE', 'CACHED')") executions not complete"

python3 - "$work/noop.json" "$work/runs.json" "$work/eight.json" <<'PY'
import json, sys
for path in sys.argv[1:]:
    results = json.load(open(path))["results"]
    a, b = results[0]["median"], results[1]["median"]
    print(f"{results[0]['command']}: {a:.3f} s  vs  {results[1]['command']}: {b:.3f} s  → ratio {a / b:.2f}x")
PY
