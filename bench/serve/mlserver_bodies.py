"""Request bodies for MLServer's XGBoost runtime (bench/serve/mlserver_setup.sh), 1 and 100 rows.

usage: mlserver_bodies.py MODEL_JSON OUT_DIR        (run with the venv-mlserver python)

MLServer's XGBoost runtime takes the already-transformed float matrix [N, F] as ONE input tensor,
F = the model's feature count (xgboost's Booster.num_features()). Values are deterministic: the
first N rows of numpy's default_rng(7), uniform in [0, 1), as float32 (row 1 is the same in both).
- mlserver-N.json: OIP v2 JSON for POST /v2/models/taxi/infer (tensor "input-0", FP32, [N, F]);
- mlserver-N.pb: the same request as a serialized inference.ModelInferRequest (typed
  fp32_contents), built with the stubs MLServer ships (mlserver.grpc.dataplane_pb2), for a gRPC
  load generator to send as is to inference.GRPCInferenceService/ModelInfer.
"""
import json, os, sys

import numpy as np
import xgboost as xgb
from mlserver.grpc import dataplane_pb2 as pb

model_json, out = sys.argv[1:3]
booster = xgb.Booster()
booster.load_model(model_json)
features = booster.num_features()
rows = np.random.default_rng(7).random((100, features), dtype=np.float32)
os.makedirs(out, exist_ok=True)

for n in (1, 100):
    m = rows[:n]
    # JSON: float(np.float32) is the exact double of the float32 value, so both bodies carry
    # the same numbers.
    body = {"inputs": [{"name": "input-0", "datatype": "FP32", "shape": [n, features],
                        "data": [float(v) for v in m.ravel()]}]}
    with open(os.path.join(out, f"mlserver-{n}.json"), "w") as f:
        json.dump(body, f, separators=(",", ":"))
    req = pb.ModelInferRequest(model_name="taxi")
    t = req.inputs.add(name="input-0", datatype="FP32", shape=[n, features])
    t.contents.fp32_contents.extend(m.ravel().tolist())
    with open(os.path.join(out, f"mlserver-{n}.pb"), "wb") as f:
        f.write(req.SerializeToString())
print(f"features={features}; wrote mlserver-{{1,100}}.{{json,pb}} to {out}")
