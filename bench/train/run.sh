#!/usr/bin/env bash
# Benchmark for training (issue: Transform, Trainer, Tuner). Not a test: run by hand.
#
#   bash bench/train/run.sh        # RUNS=3
#
# 1. Speed on the 1M-row taxi file, same run, medians: `mlops train --no-cache` (the whole
#    pipeline: ExampleGen, StatisticsGen, ImportSchemaGen, ExampleValidator, Transform and the
#    built-in Trainer) against Python: pandas read_csv, the label and categorical codes, then
#    xgboost.train. Both: hist, 100 rounds, depth 6, eta 0.1, 2 threads, no early stopping.
#    Peak RSS of one run each.
# 2. Quality on the 15k file: the eval AUC of mlops' built-in trainer against Python xgboost
#    trained on exactly the same transformed features (mlops' external-trainer CSVs).
set -euo pipefail
work="${BENCH_DIR:-/tmp/mlops-bench-train}"
runs="${RUNS:-3}"
mkdir -p "$work"
needs=venv/bin/python setup_flags=--no-tfdv
source "$(dirname "$0")/../common.sh"
py="env -u PYTHONDONTWRITEBYTECODE $peers/venv/bin/python"

# The same training settings for both: 100 rounds, no early stopping, 2 threads.
settings() {
  sed -i 's/^  early_stopping_rounds: 10$//; s/^  rounds: 100$/  rounds: 100\n  nthread: 2/' "$1/mlops.yaml"
}

m="$work/big"
if [ ! -d "$m/.git" ]; then
  rm -rf "$m"; "$mlops" init "$m" >/dev/null; cp "$csv" "$m/data/data.csv"; settings "$m"
  (cd "$m" && gitc add -A && gitc commit -qm "taxi 1M")
fi
cat > "$work/python_train.py" <<'PY'
import sys, time
import pandas as pd, xgboost as xgb
start = time.time()
frame = pd.read_csv(sys.argv[1])
label = (frame["tips"] > 0.2 * frame["fare"]).astype("float32")
features = frame.drop(columns=["tips", "trip_start_timestamp"])
for name in ("payment_type", "company"):
    features[name] = features[name].astype("category").cat.codes.astype("float32")
bucket = pd.util.hash_pandas_object(frame, index=False) % 3
train = xgb.DMatrix(features[bucket < 2], label=label[bucket < 2], nthread=2)
evaluation = xgb.DMatrix(features[bucket == 2], label=label[bucket == 2], nthread=2)
params = {"objective": "binary:logistic", "eval_metric": "auc", "max_depth": 6, "eta": 0.1, "tree_method": "hist",
          "nthread": 2, "seed": 0}
booster = xgb.train(params, train, num_boost_round=100, evals=[(evaluation, "eval")], verbose_eval=False)
print(f"python: {time.time() - start:.2f} s", file=sys.stderr)
PY

echo "== 1. train on 1M rows ($runs runs)"
hyperfine -N --runs "$runs" --export-json "$work/train.json" \
  -n "mlops train --no-cache" "$mlops train --no-cache --repo $m" \
  -n "python: pandas + xgboost" "$py $work/python_train.py $csv"
peak() { /usr/bin/time -f "%M" "$@" 2>&1 >/dev/null | tail -1; }
echo "mlops $(peak "$mlops" train --no-cache --repo "$m") KiB peak" | tee "$work/peak.txt"
echo "python $(peak env -u PYTHONDONTWRITEBYTECODE "$peers/venv/bin/python" "$work/python_train.py" "$csv") KiB peak" | tee -a "$work/peak.txt"

echo "== 2. eval AUC on the 15k file, same transformed features"
s="$work/small"
rm -rf "$s"; "$mlops" init "$s" >/dev/null; settings "$s"
"$mlops" train --repo "$s" 2>/dev/null | grep '^Trainer'
cat > "$s/trainer/auc.py" <<'PY'
import csv, json, os
import xgboost as xgb
from sklearn.metrics import roc_auc_score
args = json.load(open(os.environ["MLOPS_FN_ARGS"]))
def read(path):
    rows = list(csv.reader(open(path)))
    header, body = rows[0], rows[1:]
    x = [[float(v) if v != "" else float("nan") for v in row[:-1]] for row in body]
    return x, [float(row[-1]) for row in body], header[:-1]
tx, ty, names = read(args["train_files"][0]); ex, ey, _ = read(args["eval_files"][0])
params = {"objective": "binary:logistic", "eval_metric": "auc", "seed": 0, "nthread": 2}
params.update({k: (float(v) if v.replace(".", "", 1).isdigit() else v) for k, v in args["hyperparameters"].items()})
params["max_depth"] = int(params["max_depth"])
booster = xgb.train(params, xgb.DMatrix(tx, label=ty, feature_names=names), num_boost_round=args["rounds"])
print("python xgboost %s eval auc %.4f" % (xgb.__version__, roc_auc_score(ey, booster.predict(xgb.DMatrix(ex, feature_names=names)))))
booster.save_model(args["model_path"])
PY
sed -i "s|^trainer:|trainer:\n  command: $peers/venv/bin/python trainer/auc.py|" "$s/mlops.yaml"
"$mlops" train --repo "$s" 2>&1 | grep 'python xgboost' | sed 's/^ *Trainer | //'

python3 - "$work" <<'PY'
import json, os, sys
m = {r["command"]: r["median"] for r in json.load(open(os.path.join(sys.argv[1], "train.json")))["results"]}
ours, theirs = m["mlops train --no-cache"], m["python: pandas + xgboost"]
print(f"\n| mlops train --no-cache | {ours:.2f} s | python {theirs:.2f} s | ratio mlops/python {ours / theirs:.2f} |")
PY
