"""Log mlops' trained model.json to MLflow as an XGBoost model and print its model URI.

usage: MLFLOW_TRACKING_URI=... log_model.py MODEL.json
The booster is loaded from the very file `mlops serve` loads. pip_requirements are given so that
MLflow does not resolve the environment (the server runs with --env-manager local anyway). The
signature declares every transformed feature a double: without it a one-row request with a null
(a missing value, e.g. pickup_census_tract) makes an `object` column that XGBoost refuses.
"""
import sys, time

import mlflow
import xgboost as xgb
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema

booster = xgb.Booster()
booster.load_model(sys.argv[1])
signature = ModelSignature(inputs=Schema([ColSpec("double", name) for name in booster.feature_names]))
mlflow.set_experiment("mlops-bench-serve")
start = time.time()
with mlflow.start_run():
    info = mlflow.xgboost.log_model(
        booster, name="model", signature=signature,
        pip_requirements=[f"xgboost=={xgb.__version__}", f"mlflow=={mlflow.__version__}"])
print(f"logged in {time.time() - start:.3f} s: mlflow {mlflow.__version__}, xgboost {xgb.__version__}",
      file=sys.stderr)
print(info.model_uri)
