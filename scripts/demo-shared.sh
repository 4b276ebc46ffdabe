#!/usr/bin/env bash
# The shared-storage demo (issue 24): two CI "runners" that share nothing but S3-compatible
# storage. It builds mlops, installs moto's S3 server from PyPI into .build/demo-tools and
# starts it on 127.0.0.1 (signatures enforced), then in a scratch directory:
#   1. makes the taxi project and two fresh clones of it, in two folders;
#   2. runner A: `mlops train` and `mlops gate`, pushing every result to the remote cache;
#   3. runner B: `mlops gate` pulls it instead of computing it (the Evaluator runs again,
#      against runner A's blessed model as its baseline), then `mlops release`
#      and `mlops promote` to staging and production in the S3 registry;
#   4. a third folder with only the settings: `mlops releases history` and `mlops verify`.
# Both runners record into one metadata store on PostgreSQL 15 (Debian's, installed when missing
# and started on 127.0.0.1 by Tests/Tools/pg-server.sh), so `mlops runs` on runner B lists
# runner A's runs too.
# The main demo (scripts/demo.sh) keeps the embedded defaults: a folder registry, no cache.
# The servers are stopped by their PIDs when the script ends.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh debug
mlops="$(swift build --show-bin-path)/mlops"
tools="$PWD/.build/demo-tools"
repo="$PWD"
if [ ! -x "$tools/bin/moto_server" ] || ! "$tools/bin/python" -c "import boto3" 2>/dev/null; then
  if ! python3 -m venv --help >/dev/null 2>&1 || ! dpkg-query -W -f='${Status}' python3-venv 2>/dev/null | grep -q "install ok installed"; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
  fi
  [ -x "$tools/bin/pip" ] || python3 -m venv "$tools"
  "$tools/bin/pip" install -q 'moto[server]'
fi

scratch="${MLOPS_DEMO_DIR:-$(mktemp -d /tmp/mlops-shared-demo.XXXXXX)}"
mkdir -p "$scratch"
if [ -t 1 ]; then bold=$'\033[1m'; plain=$'\033[0m'; else bold=''; plain=''; fi
step() { printf '\n%s%s$ %s%s\n' "$bold" "${where:+[$where] }" "$*" "$plain"; }

pid="$scratch/s3.pid"
pgpid="$scratch/pg.pid"
stop() {
  if [ -s "$pid" ]; then kill "$(cat "$pid")" 2>/dev/null || true; rm -f "$pid"; fi
  bash "$repo/Tests/Tools/pg-server.sh" --stop "$pgpid" || true
}
trap stop EXIT
eval "$("$tools/bin/python" "$repo/Tests/Tools/s3-server.py" "$pid")"
eval "$(bash "$repo/Tests/Tools/pg-server.sh" "$pgpid")"
# The store's database, and its address without the password (which goes in PGPASSWORD, as a
# CI secret would).
psql -q "$MLOPS_TEST_POSTGRES_URL" -c "CREATE DATABASE mlops"
server="${MLOPS_TEST_POSTGRES_URL#postgresql://}"
export PGPASSWORD="${server%%@*}"; PGPASSWORD="${PGPASSWORD#*:}"
server="${server#*@}"
export MLOPS_STORE="postgresql://mlops@${server%%/*}/mlops?sslmode=disable"
# What a CI secret and a few variables would hold.
export AWS_ACCESS_KEY_ID="$MLOPS_TEST_S3_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$MLOPS_TEST_S3_SECRET"
export AWS_ENDPOINT_URL="$MLOPS_TEST_S3_ENDPOINT" AWS_REGION=us-east-1
export MLOPS_REGISTRY=s3://mlops-models/teams/taxi MLOPS_CACHE=s3://mlops-cache/taxi
"$tools/bin/python" - <<'PY'
import boto3
s3 = boto3.client("s3")
for bucket in ("mlops-models", "mlops-cache"):
    s3.create_bucket(Bucket=bucket)
PY
echo "S3 (moto) at $AWS_ENDPOINT_URL; registry $MLOPS_REGISTRY; remote cache $MLOPS_CACHE"
echo "metadata store $MLOPS_STORE"

# The project, and two clones as two runners would check it out (a user's own git commands).
gitc() { git -c user.name=demo -c user.email=demo@mlops.invalid -c init.defaultBranch=main "$@"; }
rm -rf "$scratch/origin" "$scratch/runner-a" "$scratch/runner-b" "$scratch/elsewhere"
"$mlops" init "$scratch/origin" >/dev/null
(cd "$scratch/origin" && gitc add -A && gitc commit -qm "taxi project from mlops init")
gitc clone -q "$scratch/origin" "$scratch/runner-a"
gitc clone -q "$scratch/origin" "$scratch/runner-b"

cd "$scratch/runner-a"; where=runner-a
# The data checks' warnings (stderr) are left out to keep the demo short; errors still show.
quiet() { "$@" 2> >(grep -v "^warning: " >&2); }
step mlops train
quiet "$mlops" train
step mlops gate
quiet "$mlops" gate

cd "$scratch/runner-b"; where=runner-b
step "mlops gate  # a fresh clone: what runner-a computed is pulled from the remote cache"
quiet "$mlops" gate > "$scratch/gate-b.txt"
cat "$scratch/gate-b.txt"
pulled=$(grep -c "pulled from the remote cache" "$scratch/gate-b.txt" || true)
echo "(components pulled from the remote cache: $pulled of 8. The shared store knows the model runner-a"
echo " blessed at this commit: it is the Evaluator's baseline, pulled first, so the Trainer finds its"
echo " model here already (cached), and the Evaluator runs again against it)"
[ "$pulled" -eq 6 ]
grep -q "^Trainer .*cached" "$scratch/gate-b.txt"
grep -q "baseline: blessed at the merge-base" "$scratch/gate-b.txt"
step mlops explain Trainer
"$mlops" explain Trainer | sed -n 1,4p
step "mlops runs  # one store: runner-a's train and gate, and this gate"
"$mlops" runs
[ "$("$mlops" runs | grep -c complete)" -eq 3 ]
step mlops release
quiet "$mlops" release | sed -n '/^released/,$p'
step mlops promote taxi@0.1.0 --to staging
"$mlops" promote taxi@0.1.0 --to staging --reason "shared demo"
step mlops promote taxi@0.1.0 --to production
"$mlops" promote taxi@0.1.0 --to production --reason "shared demo"

mkdir -p "$scratch/elsewhere"; cd "$scratch/elsewhere"; where=elsewhere
step "mlops releases history  # a third folder, no project: only the settings"
"$mlops" releases history
step mlops verify taxi@production
"$mlops" verify taxi@production

echo
echo "the registry in the bucket (what runner-b wrote):"
"$tools/bin/python" - <<'PY'
import boto3
for item in boto3.client("s3").list_objects_v2(Bucket="mlops-models")["Contents"]:
    print(f"  s3://mlops-models/{item['Key']}  {item['Size']} bytes")
PY

# 5. The same pipeline on an orchestrator (docs/orchestration.md): a change is committed, the
#    pipeline exported for Argo Workflows, and run as Argo would run it, each task
#    `mlops component run NAME` in a fresh clone of its own, two at a time, sharing only the
#    storage: what the change did not touch is found in the remote cache, the rest runs, and
#    the release task publishes the new model once both gates bless it.
cd "$scratch/origin"; where=orchestrator
step "a change: eta 0.1 → 0.12, committed"
sed -i 's/^    eta: 0.1$/    eta: 0.12/' mlops.yaml
gitc commit -qam "trainer: eta 0.12"
step "mlops pipeline export --to argo -o taxi-argo.yaml"
"$mlops" pipeline export --to argo -o "$scratch/taxi-argo.yaml"
step "each task as Argo runs it (Tests/Tools/run_export.py, two tasks at a time)"
MLOPS_BINARY="$mlops" "$tools/bin/python" "$repo/Tests/Tools/run_export.py" argo "$scratch/taxi-argo.yaml" \
  --workers 2 --param "repository=$scratch/origin" --param "revision=$(gitc rev-parse HEAD)" \
  --log "$scratch/argo.jsonl" >/dev/null
python3 - "$scratch/argo.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    entry = json.loads(line)
    if "seconds" in entry:
        last = [l for l in entry["stdout"].splitlines() if l.strip()][-1:] or [""]
        print(f"  {entry['task']:18} exit {entry['status']}  {entry['seconds']:5.2f} s  {last[0]}")
PY
step mlops releases list
"$mlops" releases list
