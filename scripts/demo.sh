#!/usr/bin/env bash
# The demo on the bundled taxi example: sets up and builds mlops, then in a scratch
# directory creates a project with `mlops init`, validates it with `mlops config check`,
# commits it, shows what `mlops changes` says a threshold change and a data change affect and
# what `mlops test --base main` checks for each, and runs the data components: ExampleGen,
# StatisticsGen per split and ExampleValidator, then `mlops train` three times (first run, fully
# cached, one changed CSV line). Then the tuner, `mlops gate` twice (a first model blessed; a
# worse one on a branch refused against the model blessed at its merge-base), `mlops release`,
# promotion to staging and production, verification and the ledger, bulk inference, serving the
# production release, its predictions logged and `mlops monitor` on them (healthy, then exit 1
# with fares tripled), a pull request with a sample of the data (drift passes) and one with
# drifted data (`mlops test --base main` and `mlops gate` fail), and `mlops explain` and `mlops runs`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh debug
mlops="$(swift build --show-bin-path)/mlops"

scratch="${MLOPS_DEMO_DIR:-$(mktemp -d /tmp/mlops-demo.XXXXXX)}"
rm -rf "$scratch/taxi"
if [ -t 1 ]; then bold=$'\033[1m'; plain=$'\033[0m'; else bold=''; plain=''; fi
step() { printf '\n%s$ %s%s\n' "$bold" "$*" "$plain"; }

step mlops --version
"$mlops" --version

step mlops init "$scratch/taxi"
"$mlops" init "$scratch/taxi"
cd "$scratch/taxi"

step mlops config check
"$mlops" config check | tail -n 3

step "mlops config check  # after misspelling 'rounds' as 'roundz'"
sed -i 's/^  rounds: 100/  roundz: 100/' mlops.yaml
status=0
"$mlops" config check || status=$?
echo "(exit status $status: 78 is a configuration error)"
sed -i 's/^  roundz: 100/  rounds: 100/' mlops.yaml

[ "$status" -eq 78 ]

# A user's own git commands, as in any project (mlops itself reads git through libgit2).
gitc() { git -c user.name=demo -c user.email=demo@mlops.invalid "$@"; }
gitc add -A && gitc commit -qm "taxi project from mlops init"
gitc checkout -qb tighter-gate
sed -i 's/lower_bound: 0.75/lower_bound: 0.8/' mlops.yaml
gitc commit -qam "raise the AUC floor to 0.8"

step "mlops changes --base main  # a branch that only raises a threshold"
"$mlops" changes --base main

step "mlops test --base main  # the fast CI stage: a threshold change cannot affect the data checks"
"$mlops" test --base main

step "mlops changes --base main  # ...and new rows in the data, not yet committed"
tail -n 100 data/data.csv >> data/data.csv
"$mlops" changes --base main | sed -n '/^changes/,/^fingerprints/p'

step "mlops test --base main  # now the data is checked, with drift against main's version, and trained on a sample"
"$mlops" test --base main | cut -c1-160

step "mlops data examples  # ExampleGen: the rows split train 6 : eval 2 : test 2 by a hash, columnar files"
"$mlops" data examples

step "mlops data stats .mlops/examples  # StatisticsGen, per split"
"$mlops" data stats .mlops/examples | sed -n '1,8p'

step "mlops data validate data/data.csv --schema schema/schema.pbtxt  # ExampleValidator"
status=0
"$mlops" data validate data/data.csv --schema schema/schema.pbtxt || status=$?
echo "(exit status $status: 1 means anomalies of ERROR severity; TFX's curated schema lists fewer taxi companies than this sample has, and expects every pickup location)"
[ "$status" -eq 1 ]

gitc checkout -q -- data/data.csv
gitc checkout -q main

step "mlops train  # on main: the data components, recorded in the metadata store"
"$mlops" train

step "mlops train  # again: nothing changed, everything is reused"
"$mlops" train

step "mlops train  # after one changed CSV line: only what depends on the data runs"
sed -i '2s/Credit Card/Cash/' data/data.csv
"$mlops" train
gitc checkout -q -- data/data.csv

step "mlops train  # with the tuner section switched on: 8 trials, the Trainer takes the best"
sed -i -e '/^  hyperparameters: /,/^    tree_method: hist$/c\  hyperparameters: from_tuner' \
  -e '/^# tuner:/,/^$/s/^# //' -e 's/^  trials: 12$/  trials: 8/' mlops.yaml
"$mlops" train
gitc checkout -q -- mlops.yaml

step "mlops gate  # Evaluator and InfraValidator: the first model, no baseline yet"
"$mlops" gate | grep -v '^ *\(ran because\|cached:\)'
sed -n '1,4p' .mlops/reports/gate.md

step "mlops gate  # a branch with a worse model (1 stump) against the model blessed at its merge-base: exit 1"
gitc checkout -qb shallower-trees
sed -i -e 's/^  rounds: 100$/  rounds: 1/' -e 's/^    max_depth: 6$/    max_depth: 1/' mlops.yaml
gitc commit -qam "one stump is enough"
status=0
"$mlops" gate > .mlops/gate.log || status=$?
grep -v '^ *\(ran because\|cached:\)' .mlops/gate.log
echo "(exit status $status: 1 means a gate failed; .mlops/reports has gate.md, junit.xml and gate.json)"
[ "$status" -eq 1 ]
grep -q 'blessed at the merge-base' .mlops/gate.log
gitc checkout -q main

step "mlops release  # the blessed model as a versioned, reproducible bundle in the registry"
"$mlops" release | grep -v '^ *\(ran because\|cached:\)' | tail -n 4
tar --zstd -tf .mlops/registry/taxi/0.1.0/taxi-0.1.0.tar.zst | tr '\n' ' '; echo

step "mlops promote taxi@0.1.0 --to production  # refused: production takes only what was in staging"
status=0
"$mlops" promote taxi@0.1.0 --to production || status=$?
echo "(exit status $status)"
[ "$status" -eq 1 ]

step "mlops promote taxi@0.1.0 --to staging && mlops promote taxi@0.1.0 --to production"
"$mlops" promote taxi@0.1.0 --to staging --reason "first model"
"$mlops" promote taxi@0.1.0 --to production --reason "looked fine in staging"

step "mlops verify taxi@production  # every file against the manifest, offline"
"$mlops" verify taxi@production

step "mlops releases history  # the ledger: who, when, why, on what evidence"
"$mlops" releases history

step "mlops infer latest --input data/data.csv -o predictions.csv  # bulk inference with the newest model"
status=0
"$mlops" infer latest --input data/data.csv -o predictions.csv || status=$?
echo "(exit status $status: a value outside the schema's domain is a bad row, and nothing was written)"
[ "$status" -eq 65 ] && [ ! -e predictions.csv ]

step "mlops infer latest --input data/data.csv -o predictions.csv --on-bad-rows skip  # skip and count them"
"$mlops" infer latest --input data/data.csv -o predictions.csv --on-bad-rows skip
head -n 3 predictions.csv | cut -d, -f2,19-  # fare as written, then the appended columns

step "mlops serve taxi@production --port 0  # the released model over HTTP, as 'taxi': Open Inference Protocol v2"
"$mlops" serve taxi@production --port 0 > serve.log 2>&1 &
server=$!
for _ in $(seq 100); do grep -q "^ready" serve.log && break; sleep 0.1; done
cat serve.log
url=$(grep -o 'http://[0-9.:]*' serve.log)
echo "\$ curl $url/v2/health/ready"
curl -s "$url/v2/health/ready"; echo
row='{"id":"demo","inputs":[
  {"name":"fare","datatype":"FP64","shape":[1],"data":[12.45]},
  {"name":"trip_miles","datatype":"FP64","shape":[1],"data":[3.1]},
  {"name":"trip_seconds","datatype":"INT64","shape":[1],"data":[780]},
  {"name":"trip_start_month","datatype":"INT64","shape":[1],"data":[5]},
  {"name":"trip_start_hour","datatype":"INT64","shape":[1],"data":[19]},
  {"name":"trip_start_day","datatype":"INT64","shape":[1],"data":[6]},
  {"name":"pickup_community_area","datatype":"INT64","shape":[1],"data":[8]},
  {"name":"dropoff_community_area","datatype":"INT64","shape":[1],"data":[32]},
  {"name":"pickup_census_tract","datatype":"INT64","shape":[1],"data":[null]},
  {"name":"dropoff_census_tract","datatype":"INT64","shape":[1],"data":[null]},
  {"name":"pickup_latitude","datatype":"FP64","shape":[1],"data":[41.899]},
  {"name":"pickup_longitude","datatype":"FP64","shape":[1],"data":[-87.633]},
  {"name":"dropoff_latitude","datatype":"FP64","shape":[1],"data":[41.879]},
  {"name":"dropoff_longitude","datatype":"FP64","shape":[1],"data":[-87.626]},
  {"name":"payment_type","datatype":"BYTES","shape":[1],"data":["Credit Card"]},
  {"name":"company","datatype":"BYTES","shape":[1],"data":["Taxi Affiliation Services"]}]}'
echo "\$ curl -X POST $url/v2/models/taxi/infer -d '{\"inputs\": [one tensor per feature]}'"
curl -s -X POST "$url/v2/models/taxi/infer" -H 'Content-Type: application/json' -d "$row"; echo
echo "\$ curl -X POST $url/v2/models/taxi/infer -d '{...a company the schema does not list...}'"
curl -s -X POST "$url/v2/models/taxi/infer" -H 'Content-Type: application/json' \
  -d "${row/Taxi Affiliation Services/Flash Cab}" -w ' (HTTP %{http_code})'; echo
kill -TERM "$server"
status=0; wait "$server" || status=$?
echo "(SIGTERM: mlops serve finished its requests and exited with status $status)"
[ "$status" -eq 0 ]

step "mlops serve taxi@production --log-predictions .mlops/predictions  # log every request for monitoring"
"$mlops" serve taxi@production --port 0 --log-predictions .mlops/predictions --out-of-domain missing > serve.log 2>&1 &
server=$!
for _ in $(seq 100); do grep -q "^ready" serve.log && break; sleep 0.1; done
grep -E "^(logging|ready)" serve.log
url=$(grep -o 'http://[0-9.:]*' serve.log)
# A client: every 30th row of the data in requests of 20 rows (fares times SCALE), each with an
# id; with a labels file, the tips of each row by request id and row (they arrive later).
send() {
  python3 - "$url" data/data.csv "$@" <<'PY'
import csv, json, sys, urllib.request
url, path, prefix, scale = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
labels = open(sys.argv[5], "w") if len(sys.argv) > 5 else None
inputs = json.load(urllib.request.urlopen(url + "/v2/models/taxi"))["inputs"]
rows = list(csv.DictReader(open(path)))[::30]
if labels: labels.write("request_id,row,tips\n")
def value(kind, text):
    if text == "": return None
    return text if kind == "BYTES" else int(text) if kind == "INT64" else float(text)
for start in range(0, len(rows), 20):
    batch = rows[start:start + 20]
    for row in batch: row["fare"] = str(float(row["fare"] or 0) * scale)
    body = {"id": f"{prefix}-{start // 20}", "inputs": [
        {"name": i["name"], "datatype": i["datatype"], "shape": [len(batch)],
         "data": [value(i["datatype"], row[i["name"]]) for row in batch]} for i in inputs]}
    request = urllib.request.Request(url + "/v2/models/taxi/infer", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    urllib.request.urlopen(request).read()
    if labels:
        for index, row in enumerate(batch): labels.write(f"{prefix}-{start // 20},{index},{row['tips']}\n")
print(f"sent {len(rows)} rows in {(len(rows) + 19) // 20} requests" + (", fares tripled" if scale != 1 else ""))
PY
}
now() { date -u +%Y-%m-%dT%H:%M:%S.%3NZ; }
start=$(now); send a 1 labels.csv; middle=$(now); sleep 0.1; send b 3; end=$(now)
kill -TERM "$server"; wait "$server" || true
ls .mlops/predictions

step "mlops monitor --from $start --to $middle --labels labels.csv  # traffic like the training data: healthy"
"$mlops" monitor --from "$start" --to "$middle" --labels labels.csv
sed -n '/^| metric/,/^$/p' .mlops/reports/monitor.md
echo "(exit status 0)"

step "mlops monitor --from $middle --to $end  # the same rows with fares tripled: exit 1"
status=0
"$mlops" monitor --from "$middle" --to "$end" || status=$?
echo "(exit status $status: skew against the training data, drift against the window before)"
[ "$status" -eq 1 ]

step "mlops test --base main  # a pull request with a sample of the same data (every other row): drift passes"
gitc checkout -q main
gitc checkout -qb sampled-data
awk 'NR == 1 || NR % 2 == 0' data/data.csv > data/sample.csv && mv data/sample.csv data/data.csv
gitc commit -qam "every other row"
"$mlops" test --base main > .mlops/test.log
grep -E '^mlops test|data/data.csv: drift against|^passed|checks passed' .mlops/test.log | cut -c1-200
echo "(exit status 0)"

step "mlops gate  # the same sample: drift within the thresholds, a model trained on it, blessed against production"
"$mlops" gate > .mlops/gate.log 2>&1
grep -E '^(mlops gate|ExampleValidator|Evaluator|InfraValidator|blessed)' .mlops/gate.log | cut -c1-200
echo "(exit status 0)"

step "mlops test --base main  # a pull request with drifted data: fares up 80%, no cash payments: exit 1"
gitc checkout -q main
gitc checkout -qb drifted-data
awk -F, -v OFS=, 'NR == 1 || $14 != "Cash" { if (NR > 1) $2 = sprintf("%.2f", $2 * 1.8); print }' \
  data/data.csv > data/drifted.csv && mv data/drifted.csv data/data.csv
gitc commit -qam "new data: fares up, no cash"
status=0
"$mlops" test --base main > .mlops/test.log || status=$?
grep -E 'drift' .mlops/test.log | cut -c1-200
echo "(exit status $status: the template's gates.drift thresholds fail the change)"
[ "$status" -eq 1 ]

step "mlops gate  # the same pull request: ExampleValidator measures drift against the data at the merge-base"
status=0
"$mlops" gate > .mlops/gate.log 2>&1 || status=$?
grep -E '^(ExampleValidator|  ✗ mlops.gate.data: train: drift|not blessed)' .mlops/gate.log | cut -c1-200
sed -n '/^Drift:/p' .mlops/reports/gate.md
echo "(exit status $status: the run stopped before Transform, so no model was trained on the drifted data)"
[ "$status" -eq 1 ]
gitc checkout -q main

step "mlops explain StatisticsGen && mlops runs"
"$mlops" explain StatisticsGen
"$mlops" runs

printf '\nThe demo project is in %s\n' "$scratch/taxi"
printf 'Reports: %s\n' "$scratch/taxi/.mlops/reports/"{test.md,test-junit.xml,gate.md,junit.xml,gate.json,report.html,monitor.md,monitor.html}
printf 'Release bundle: %s\n' "$scratch/taxi/.mlops/registry/taxi/0.1.0/taxi-0.1.0.tar.zst"
