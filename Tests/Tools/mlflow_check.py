"""What a real MLflow server holds, read with MLflow's own Python client (MlflowClient), for
the tracking tests. Prints one JSON document.

  mlflow_check.py URL runs EXPERIMENT [METRIC...]   every run: info, params, tags, latest
                                                    metrics, the histories of METRIC, artifacts
  mlflow_check.py URL alias MODEL ALIAS            the model version an alias names
  mlflow_check.py URL seed EXPERIMENT KEY          a run tagged mlops.run_key=KEY, as a delivery
                                                    cut off after runs/create leaves it
  mlflow_check.py URL log EXPERIMENT               two runs logged with mlflow.log_params and
                                                    log_metric by step (what a team has already)
"""
import json
import math
import sys
import warnings

warnings.filterwarnings("ignore")
import mlflow  # noqa: E402
from mlflow import MlflowClient  # noqa: E402


def number(value):
    if value is None:
        return None
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def artifacts(client, run_id, path=None):
    found = []
    for item in client.list_artifacts(run_id, path):
        if item.is_dir:
            found.extend(artifacts(client, run_id, item.path))
        else:
            found.append(item.path)
    return found


def main():
    url, command = sys.argv[1], sys.argv[2]
    client = MlflowClient(tracking_uri=url)
    mlflow.set_tracking_uri(url)
    if command == "runs":
        experiment = client.get_experiment_by_name(sys.argv[3])
        if experiment is None:
            print(json.dumps({"runs": []}))
            return
        runs = []
        for run in client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"]):
            runs.append({
                "run_id": run.info.run_id, "run_name": run.info.run_name, "status": run.info.status,
                "start_time": run.info.start_time, "end_time": run.info.end_time,
                "params": run.data.params, "tags": run.data.tags,
                "metrics": {key: number(value) for key, value in run.data.metrics.items()},
                "histories": {
                    key: [[m.step, number(m.value), m.timestamp] for m in client.get_metric_history(run.info.run_id, key)]
                    for key in sys.argv[4:]
                },
                "artifacts": sorted(artifacts(client, run.info.run_id)),
            })
        print(json.dumps({"runs": runs}))
    elif command == "alias":
        version = client.get_model_version_by_alias(sys.argv[3], sys.argv[4])
        model = client.get_registered_model(sys.argv[3])
        print(json.dumps({
            "version": version.version, "source": version.source, "run_id": version.run_id,
            "status": version.status, "tags": version.tags, "aliases": dict(model.aliases),
        }))
    elif command == "seed":
        experiment = client.get_experiment_by_name(sys.argv[3])
        run = client.create_run(experiment.experiment_id, tags={"mlops.run_key": sys.argv[4]}, run_name="cut-off")
        print(json.dumps({"run_id": run.info.run_id}))
    elif command == "log":
        mlflow.set_experiment(sys.argv[3])
        made = []
        for lr, depth in [("0.1", 4), ("0.3", 8)]:
            with mlflow.start_run() as run:
                mlflow.log_params({"lr": lr, "max_depth": depth})
                for step in range(3):
                    mlflow.log_metric("val_auc", 0.7 + 0.05 * step + (0.01 if lr == "0.3" else 0), step=step)
                mlflow.log_metric("rmse", float("nan"))
                made.append(run.info.run_id)
        print(json.dumps({"runs": made}))
    else:
        raise SystemExit(f"unknown command {command}")


main()
