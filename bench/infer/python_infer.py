"""The peer for `mlops infer`: what a Python user writes for bulk inference with the same model.

pandas reads the CSV, the fitted transform (mlops' transform.json: fill_missing, zscore,
bucketize, vocabulary) is applied with vectorized pandas/numpy, Python xgboost predicts with the
same model.json, and pandas writes the rows with `probability` and `predicted_class` appended.
Usage: python_infer.py MODEL_FOLDER INPUT.csv OUTPUT.csv
"""
import json, sys, time
import numpy as np, pandas as pd, xgboost as xgb

start = time.time()
folder, source, target = sys.argv[1:4]
transform = json.load(open(f"{folder}/transform.json"))
text = [i["name"] for i in transform["inputs"] if i["type"] == "bytes"]
frame = pd.read_csv(source, dtype={name: str for name in text})
columns = {}
for feature in transform["features"]:
    values = frame[feature["source"]]
    for step in feature["steps"]:
        if step == "drop":
            values = None
            break
        kind, arg = next(iter(step.items()))
        if kind == "fill_missing":
            values = values.fillna(arg)
        elif kind == "zscore":
            values = (values - arg["mean"]) / arg["std"] if arg["std"] > 0 else values - arg["mean"]
        elif kind == "bucketize":
            codes = np.searchsorted(np.asarray(arg["boundaries"]), values.to_numpy(), side="right").astype("float64")
            values = pd.Series(np.where(values.isna(), np.nan, codes))
        elif kind == "vocabulary":
            index = {value: float(position) for position, value in enumerate(arg["values"])}
            codes = values.map(index)
            values = codes.where(codes.notna() | values.isna(), float(len(arg["values"])))  # one OOV bucket
        else:
            raise SystemExit(f"step {kind} is not in this peer")
    if values is not None:
        columns[feature["outputs"][0]] = values.to_numpy(dtype="float32")
booster = xgb.Booster(model_file=f"{folder}/model.json")
booster.set_param({"nthread": 2})
probability = booster.predict(xgb.DMatrix(pd.DataFrame(columns), nthread=2))
frame["probability"] = probability
frame["predicted_class"] = (probability >= 0.5).astype("int64")
frame.to_csv(target, index=False)
print(f"python: {len(frame)} rows in {time.time() - start:.2f} s", file=sys.stderr)
