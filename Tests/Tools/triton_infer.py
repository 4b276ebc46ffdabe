"""Predictions from `mlops serve` through NVIDIA's own Open Inference Protocol clients,
tritonclient.http or tritonclient.grpc, with their default settings (over HTTP that is
Triton's binary tensor data extension both ways), for a test to compare with `mlops infer`.

    triton_infer.py http|grpc HOST:PORT MODEL ROWS.csv

The inputs are the model's metadata's, one tensor per feature of the datatype it names, the
CSV's values as numpy arrays. A missing number is NaN, sent as FP64 (an INT64 tensor has no
missing value); a missing text is an empty BYTES element, which mlops reads as missing. Prints {"probabilities": [...], "predicted_class": [...], "id": ...} as JSON.
"""
import csv
import json
import sys

import numpy as np


def main() -> int:
    protocol, url, model, rows_file = sys.argv[1:5]
    if protocol == "http":
        import tritonclient.http as triton

        client = triton.InferenceServerClient(url=url)
        metadata = client.get_model_metadata(model)
    else:
        import tritonclient.grpc as triton

        client = triton.InferenceServerClient(url=url)
        metadata = client.get_model_metadata(model, as_json=True)
    if not client.is_server_live() or not client.is_model_ready(model):
        print("the server is not live or the model not ready", file=sys.stderr)
        return 2
    with open(rows_file, newline="") as handle:
        rows = list(csv.DictReader(handle))
    inputs = []
    for tensor in metadata["inputs"]:
        name, datatype = tensor["name"], tensor["datatype"]
        values = [row[name] for row in rows]
        if datatype == "BYTES":
            array = np.array([value.encode() for value in values], dtype=np.object_)
        elif datatype == "INT64" and "" not in values:
            array = np.array([int(value) for value in values], dtype=np.int64)
        else:
            datatype = "FP64"
            array = np.array([float(value) if value != "" else np.nan for value in values], dtype=np.float64)
        item = triton.InferInput(name, [len(rows)], datatype)
        item.set_data_from_numpy(array)
        inputs.append(item)
    result = client.infer(model, inputs, request_id="triton")
    answer = {"id": result.get_response(as_json=True)["id"] if protocol == "grpc" else result.get_response()["id"]}
    for output in ("probabilities", "predicted_class", "predictions"):
        array = result.as_numpy(output)
        if array is not None:
            answer[output] = [item.decode() if isinstance(item, bytes) else item for item in array.tolist()]
    print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
