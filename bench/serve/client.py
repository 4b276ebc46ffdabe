"""A plain Python client of `mlops serve`, with `requests`: read the model's inputs from its metadata,
send one raw row of the taxi data in the Open Inference Protocol v2 shape, print the answer.

usage: client.py URL MODEL_NAME DATA.csv [LINE]   (LINE: the 1-based data row, default 1)
"""
import csv, json, sys

import requests

url, name, data_csv = sys.argv[1:4]
line = int(sys.argv[4]) if len(sys.argv) > 4 else 1
with open(data_csv, newline="") as f:
    for number, row in enumerate(csv.DictReader(f), start=1):
        if number == line:
            break

def value(text, datatype):
    if text == "":
        return None  # a missing value
    if datatype == "BYTES":
        return text
    return int(float(text)) if datatype.startswith(("INT", "UINT")) else float(text)

with requests.Session() as session:
    metadata = session.get(f"{url}/v2/models/{name}", timeout=5).json()
    body = {"id": f"data.csv row {line}", "inputs": [
        {"name": i["name"], "datatype": i["datatype"], "shape": [1], "data": [value(row[i["name"]], i["datatype"])]}
        for i in metadata["inputs"]]}
    answer = session.post(f"{url}/v2/models/{name}/infer", json=body, timeout=5)
    print(f"requests {requests.__version__}: POST {url}/v2/models/{name}/infer -> {answer.status_code} "
          f"{answer.headers.get('Content-Type')}")
    print(answer.text)
    outputs = {o["name"]: o["data"] for o in answer.json()["outputs"]}
    print(f"row {line}: fare {row['fare']}, tips {row['tips']}, company {row['company'] or '(missing)'} -> "
          f"P(big tipper) = {outputs['probabilities'][0]:.4f}, class {outputs['predicted_class'][0]}")
    answer.raise_for_status()
