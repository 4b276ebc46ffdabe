"""Request bodies for bench/serve/oip.sh, for mlops serve: the first N raw rows of the taxi data in
the Open Inference Protocol v2 shape, one tensor per raw feature the model reads, with the
datatypes of its metadata (GET /v2/models/taxi). Run with tritonclient's Python (its protobuf
stubs build the gRPC request).

usage: oip_bodies.py DATA.csv METADATA.json OUT_DIR N...

Writes OUT_DIR/mlops-N.json (HTTP JSON; null for a missing value) and OUT_DIR/mlops-N.pb (a
serialized inference.ModelInferRequest with typed contents: numbers as FP64 with NaN for
missing, text as BYTES).
"""
import csv
import json
import math
import sys

from tritonclient.grpc import service_pb2

data_csv, metadata_json, out = sys.argv[1:4]
inputs = json.load(open(metadata_json))["inputs"]
rows = list(csv.DictReader(open(data_csv, newline="")))
for count in map(int, sys.argv[4:]):
    chosen = rows[:count]
    tensors = []
    request = service_pb2.ModelInferRequest(model_name="taxi")
    for tensor in inputs:
        name, datatype = tensor["name"], tensor["datatype"]
        values = [row[name] for row in chosen]
        if datatype == "BYTES":
            data = [value if value != "" else None for value in values]
            item = request.inputs.add(name=name, datatype="BYTES", shape=[count])
            item.contents.bytes_contents.extend(value.encode() for value in values)
        else:
            data = [None if value == "" else (int(value) if datatype == "INT64" else float(value)) for value in values]
            item = request.inputs.add(name=name, datatype="FP64", shape=[count])
            item.contents.fp64_contents.extend(math.nan if value == "" else float(value) for value in values)
        tensors.append({"name": name, "datatype": datatype, "shape": [count], "data": data})
    with open(f"{out}/mlops-{count}.json", "w") as handle:
        json.dump({"inputs": tensors}, handle)
    with open(f"{out}/mlops-{count}.pb", "wb") as handle:
        handle.write(request.SerializeToString())
