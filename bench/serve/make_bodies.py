"""Request bodies for bench/serve/run.sh, for one and the same row of the bundled taxi data.

usage: make_bodies.py DATA.csv TRANSFORM.json TRANSFORMED_DIR METADATA.json OUT_DIR

- mlops.json: the raw row in the Open Inference Protocol v2 shape, one tensor per raw feature the
  model reads, with the datatypes mlops serve's metadata (GET /v2/models/taxi) gives.
- mlflow.json: the SAME row after mlops' fitted transform, as `dataframe_split` with the model's
  feature names: MLflow serves the bare XGBoost model, which takes transformed features. The
  transformed values are read from the Transform component's output (the f32 matrices), not
  recomputed, so both servers predict the same row.
- bad_*.json: malformed variants of mlops.json for the soak (one per kind).
"""
import csv, json, math, os, sys

import numpy as np

data_csv, transform_json, transformed_dir, metadata_json, out = sys.argv[1:6]
inputs = json.load(open(metadata_json))["inputs"]  # [{name, datatype, shape}]
meta = json.load(open(os.path.join(transformed_dir, "transformed.json")))
names = meta["features"]
matrix = np.concatenate([
    np.fromfile(os.path.join(transformed_dir, s["features"]), dtype="<f4").reshape(s["rows"], len(names))
    for s in meta["splits"]])
rows = list(csv.DictReader(open(data_csv, newline="")))

def value(raw, datatype):
    if raw == "":
        return None
    if datatype == "BYTES":
        return raw
    if datatype.startswith("INT") or datatype.startswith("UINT"):
        return int(float(raw))
    return float(raw)

# Find the transformed row of a raw row: the features the transform passes through unchanged must
# be equal (as float32, missing as missing), and the row must be the only one with those values
# on both sides. Rows with the most features present come first (pickup_census_tract is almost
# always missing in this data).
spec = json.load(open(transform_json))
identity = [f["source"] for f in spec["features"] if not f["steps"] and f["outputs"] == [f["source"]]]
columns = [names.index(n) for n in identity]
def cell(v):
    v = np.float32(v)
    return None if np.isnan(v) else v
def key(row):
    return tuple(cell(float(row[n]) if row[n] != "" else "nan") for n in identity)
needed = [i["name"] for i in inputs]
raw_counts = {}
for r in rows:
    raw_counts[key(r)] = raw_counts.get(key(r), 0) + 1
by_key = {}
for index, t in enumerate(matrix[:, columns]):
    by_key.setdefault(tuple(cell(v) for v in t), []).append(index)
chosen = None
for r in sorted(rows, key=lambda r: sum(r[n] == "" for n in needed)):
    k = key(r)
    if raw_counts[k] == 1 and len(by_key.get(k, [])) == 1:
        chosen = r, matrix[by_key[k][0]]
        break
if chosen is None:
    sys.exit("no raw row matches exactly one transformed row")
row, features = chosen

oip = {"id": "bench", "inputs": [
    {"name": i["name"], "datatype": i["datatype"], "shape": [1], "data": [value(row[i["name"]], i["datatype"])]}
    for i in inputs]}
mlflow = {"dataframe_split": {"columns": names,
                              "data": [[None if math.isnan(v) else float(v) for v in features]]}}

def dump(name, body):
    with open(os.path.join(out, name), "w") as f:
        f.write(body if isinstance(body, str) else json.dumps(body, separators=(",", ":")))

dump("mlops.json", oip)
dump("mlflow.json", mlflow)
# The malformed kinds for the soak.
text = json.dumps(oip, separators=(",", ":"))
dump("bad_json.json", text[:-7])                                   # truncated: invalid JSON
unknown = json.loads(text)
unknown["inputs"].append({"name": "fare_amount", "datatype": "FP64", "shape": [1], "data": [12.5]})
dump("bad_unknown.json", unknown)                                  # a feature the model does not know
missing = json.loads(text)
missing["inputs"] = [i for i in missing["inputs"] if i["name"] != "fare"]
dump("bad_missing.json", missing)                                  # a needed feature left out
wrong_type = json.loads(text)
next(i for i in wrong_type["inputs"] if i["name"] == "fare")["data"] = ["twelve"]
dump("bad_type.json", wrong_type)                                  # a string for the FP64 `fare`
wrong_shape = json.loads(text)
next(i for i in wrong_shape["inputs"] if i["name"] == "trip_miles")["shape"] = [1, 2]
dump("bad_shape.json", wrong_shape)                                # shape [1, 2]: not [N] or [N, 1]
print("row: " + ", ".join(f"{n}={row[n]}" for n in needed))
