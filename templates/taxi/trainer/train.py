"""An external trainer for mlops (`trainer.command: python3 trainer/train.py`).

mlops runs this with MLOPS_FN_ARGS pointing at a JSON file of paths and settings: the
transformed train and eval splits as CSV with a header (the features, then the label), the
label and feature names, the task, the hyperparameters and the path the model must be written
to. It must write an XGBoost model there; mlops loads it and checks it (feature count, finite
predictions) before the rest of the pipeline uses it. Needs `pip install xgboost`.
"""
import csv
import json
import os

import xgboost as xgb


def read(path, label):
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    names = [name for name in rows[0].keys() if name != label] if rows else []
    values = [[float(row[name]) if row[name] != "" else float("nan") for name in names] for row in rows]
    labels = [float(row[label]) for row in rows]
    return values, labels, names


def main():
    args = json.load(open(os.environ["MLOPS_FN_ARGS"]))
    label = args["label"]
    train_x, train_y, names = read(args["train_files"][0], label)
    eval_x, eval_y, _ = read(args["eval_files"][0], label)
    train = xgb.DMatrix(train_x, label=train_y, feature_names=names)
    evaluation = xgb.DMatrix(eval_x, label=eval_y, feature_names=names)
    objective = {"binary": "binary:logistic", "multiclass": "multi:softprob"}.get(args["task"], "reg:squarederror")
    params = {"objective": objective, "seed": args["seed"], "nthread": args["nthread"]}
    if args.get("num_class"):
        params["num_class"] = args["num_class"]
    for key, value in args["hyperparameters"].items():
        params[key] = value
    booster = xgb.train(params, train, num_boost_round=args["rounds"], evals=[(evaluation, "eval")],
                        early_stopping_rounds=10, verbose_eval=10)
    booster.save_model(args["model_path"])
    print("wrote", args["model_path"])


if __name__ == "__main__":
    main()
