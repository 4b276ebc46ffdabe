"""Checks an Argo Workflows export against the published JSON schema of Argo v4.1.2, as is and
in a stricter copy where every object definition that lists its properties allows no others
(so a misspelled field fails), with check-jsonschema; then that every DAG task names a
template, every dependency a task, and every `{{tasks.X.outputs.parameters.P}}` an output.

    argo_check.py SCHEMA FILE OUTDIR    prints a summary of FILE's documents as JSON

Needs check-jsonschema (MLOPS_CHECK_JSONSCHEMA or on PATH). Exit 0 when valid, 1 when not.
"""
import copy
import json
import os
import re
import shutil
import subprocess
import sys

import yaml


def strict(schema):
    schema = copy.deepcopy(schema)
    for definition in schema.get("definitions", schema.get("$defs", {})).values():
        if isinstance(definition, dict) and "properties" in definition and "additionalProperties" not in definition:
            definition["additionalProperties"] = False
    return schema


def main():
    schema_path, path, outdir = sys.argv[1:4]
    checker = os.environ.get("MLOPS_CHECK_JSONSCHEMA") or shutil.which("check-jsonschema")
    if not checker:
        print("check-jsonschema is not installed (bash .ci/run installs it)", file=sys.stderr)
        sys.exit(2)
    with open(schema_path) as f:
        schema = json.load(f)
    os.makedirs(outdir, exist_ok=True)
    strict_path = os.path.join(outdir, "argo-strict.schema.json")
    with open(strict_path, "w") as f:
        json.dump(strict(schema), f)
    with open(path) as f:
        documents = list(yaml.safe_load_all(f))
    problems = []
    summary = []
    for index, document in enumerate(documents):
        single = os.path.join(outdir, f"document-{index}.json")
        with open(single, "w") as f:
            json.dump(document, f)
        for which, schema_file in (("schema", schema_path), ("strict schema", strict_path)):
            result = subprocess.run([checker, "--schemafile", schema_file, single], capture_output=True, text=True)
            if result.returncode != 0:
                problems.append(f"document {index} ({document.get('kind')}) fails the {which}: {result.stdout}{result.stderr}")
        spec = document.get("spec", {})
        templates = {t["name"]: t for t in spec.get("templates", [])}
        entry = {"kind": document.get("kind")}
        for template in templates.values():
            tasks = {t["name"]: t for t in template.get("dag", {}).get("tasks", [])}
            if not tasks:
                continue
            entry["tasks"] = {name: sorted(t.get("dependencies", [])) for name, t in tasks.items()}
            entry["when"] = {name: t["when"] for name, t in tasks.items() if "when" in t}
            entry["withItems"] = {name: t["withItems"] for name, t in tasks.items() if "withItems" in t}
            for name, task in tasks.items():
                if task.get("template") not in templates:
                    problems.append(f"task {name}: template '{task.get('template')}' does not exist")
                for dependency in task.get("dependencies", []):
                    if dependency not in tasks:
                        problems.append(f"task {name}: dependency '{dependency}' is not a task")
                for producer, parameter in re.findall(r"\{\{tasks\.([a-z0-9-]+)\.outputs\.parameters\.([a-z_]+)\}\}", task.get("when", "")):
                    outputs = [p["name"] for p in templates.get(tasks.get(producer, {}).get("template"), {}).get("outputs", {}).get("parameters", [])]
                    if parameter not in outputs:
                        problems.append(f"task {name}: when reads {producer}.{parameter}, which it does not output")
                    if producer not in task.get("dependencies", []):
                        problems.append(f"task {name}: when reads {producer} without depending on it")
        summary.append(entry)
    if problems:
        for problem in problems:
            print(f"{path}: {problem}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    main()
