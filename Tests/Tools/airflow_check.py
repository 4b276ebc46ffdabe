"""Parses an Airflow DAG file with Airflow 3's own DagBag (no database), as the scheduler's DAG
processor would, and prints what Airflow sees: each task with its operator and upstream tasks.

    airflow_check.py FILE

Exit 0 with the summary as JSON on a line starting `mlops-dagbag: `; 1 with the import errors when Airflow cannot load it.
"""
import json
import os
import shutil
import sys
import tempfile


def main():
    path = sys.argv[1]
    home = tempfile.mkdtemp(prefix="mlops-airflow-home-")
    os.environ["AIRFLOW_HOME"] = home
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
    folder = tempfile.mkdtemp(prefix="mlops-dags-")
    try:
        # DagBag reads only .py files: the export under the name Airflow's dags folder would give it.
        shutil.copy(path, os.path.join(folder, "mlops_dag.py"))
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(dag_folder=folder)
        if bag.import_errors:
            for file, error in bag.import_errors.items():
                print(f"{path}: {error}", file=sys.stderr)
            sys.exit(1)
        if not bag.dags:
            print(f"{path}: Airflow found no DAG in it", file=sys.stderr)
            sys.exit(1)
        dags = {}
        for dag_id, dag in bag.dags.items():
            tasks = {}
            for task in dag.tasks:
                tasks[task.task_id] = {
                    "operator": type(task).__name__,
                    "upstream": sorted(task.upstream_task_ids),
                    "retries": task.retries,
                }
            dags[dag_id] = {
                "tasks": tasks,
                "schedule": getattr(dag, "schedule", None) if isinstance(getattr(dag, "schedule", None), str) else getattr(dag.timetable, "description", None),
                "params": sorted(dag.params.keys()),
            }
        # Airflow logs on stdout too: the result is the line that starts with the marker.
        print("mlops-dagbag: " + json.dumps(dags, sort_keys=True))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
