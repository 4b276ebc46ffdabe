# Shared by the bench scripts (sourced): the peers, the 1M-row taxi file, hyperfine and the
# mlops binary built as a release would ship it. Before sourcing, set `needs` to the peer
# program that must exist (e.g. venv/bin/python) and `setup_flags` (e.g. --no-tfdv).
# Sets: root, peers, csv, mlops; defines gitc.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
peers="${PEERS_DIR:-/tmp/mlops-peers}"
[ -x "$peers/${needs:-venv/bin/python}" ] || PEERS_DIR="$peers" bash "$root/../shared/bench/setup_peers.sh" ${setup_flags:-}
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine >/dev/null
csv="$peers/taxi_1m.csv"
[ -f "$csv" ] || python3 "$root/../shared/bench/make_big_taxi.py" --rows 1000000 --out "$csv"
# Optimized, with the Swift runtime linked statically.
# MLOPS_BENCH_NO_BUILD=1 uses the binary already there (while another build runs).
[ -n "${MLOPS_BENCH_NO_BUILD:-}" ] || (cd "$root" && swift build -c release --product mlops --static-swift-stdlib --scratch-path .build-static >/dev/null)
mlops="$root/.build-static/release/mlops"
gitc() { git -c user.name=bench -c user.email=bench@mlops.invalid -c init.defaultBranch=main "$@"; }
