"""Checks mlops' Kubeflow Pipelines outputs with the kfp packages (kfp 2.17.3, kfp-pipeline-spec,
kfp-kubernetes), as Kubeflow itself would read them.

    kfp_check.py executor-output FILE   FILE parses strictly as an ExecutorOutput; prints it as JSON
    kfp_check.py pipeline FILE          FILE (a PipelineSpec, then the Kubernetes PlatformSpec) parses
                                        strictly, every reference in it resolves, and kfp loads it and
                                        compiles it back to the same pipeline; prints a summary as JSON

Exit 0 when valid; 1 with every problem on stderr when not.
"""
import json
import re
import sys
import tempfile

import yaml
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2


def executor_output(path):
    with open(path) as f:
        document = json.load(f)
    message = pipeline_spec_pb2.ExecutorOutput()
    # Strict: an unknown field or a bad value fails.
    json_format.ParseDict(document, message, ignore_unknown_fields=False)
    print(json.dumps(json_format.MessageToDict(message), sort_keys=True))


def references(spec):
    """Every reference a PipelineSpec makes, checked; returns the problems."""
    problems = []
    components = spec.get("components", {})
    executors = spec.get("deploymentSpec", {}).get("executors", {})

    def inputs_of(component):
        definitions = component.get("inputDefinitions", {})
        return set(definitions.get("parameters", {})), set(definitions.get("artifacts", {}))

    def outputs_of(component):
        definitions = (component or {}).get("outputDefinitions", {})
        return set(definitions.get("parameters", {})), set(definitions.get("artifacts", {}))

    def check_dag(where, dag, enclosing):
        tasks = dag.get("tasks", {})
        own_parameters, own_artifacts = inputs_of(enclosing)
        for name, task in tasks.items():
            here = f"{where}.tasks.{name}"
            ref = task.get("componentRef", {}).get("name")
            if ref not in components:
                problems.append(f"{here}: componentRef '{ref}' is not a component")
                continue
            component = components[ref]
            parameters, artifacts = inputs_of(component)
            for dependency in task.get("dependentTasks", []):
                if dependency not in tasks:
                    problems.append(f"{here}: dependentTasks names '{dependency}', not a task of this DAG")
            given = task.get("inputs", {})
            for key, value in given.get("parameters", {}).items():
                if key not in parameters:
                    problems.append(f"{here}: input parameter '{key}' is not an input of {ref}")
                if "componentInputParameter" in value and value["componentInputParameter"] not in own_parameters:
                    problems.append(f"{here}: componentInputParameter '{value['componentInputParameter']}' is not an input of the enclosing DAG")
                if "taskOutputParameter" in value:
                    out = value["taskOutputParameter"]
                    producer = tasks.get(out.get("producerTask"))
                    if producer is None:
                        problems.append(f"{here}: producerTask '{out.get('producerTask')}' is not a task of this DAG")
                    elif out.get("outputParameterKey") not in outputs_of(components.get(producer["componentRef"]["name"]))[0]:
                        problems.append(f"{here}: '{out.get('producerTask')}' has no output parameter '{out.get('outputParameterKey')}'")
                    elif out.get("producerTask") not in task.get("dependentTasks", []):
                        problems.append(f"{here}: reads '{out.get('producerTask')}' without depending on it")
            for key, value in given.get("artifacts", {}).items():
                if key not in artifacts:
                    problems.append(f"{here}: input artifact '{key}' is not an input of {ref}")
                out = value.get("taskOutputArtifact", {})
                producer = tasks.get(out.get("producerTask"))
                if producer is None:
                    problems.append(f"{here}: producerTask '{out.get('producerTask')}' is not a task of this DAG")
                elif out.get("outputArtifactKey") not in outputs_of(components.get(producer["componentRef"]["name"]))[1]:
                    problems.append(f"{here}: '{out.get('producerTask')}' has no output artifact '{out.get('outputArtifactKey')}'")
            missing = (parameters - set(given.get("parameters", {})) - {p for p in parameters if components[ref]["inputDefinitions"]["parameters"][p].get("isOptional")})
            if "parameterIterator" in task:
                missing.discard(task["parameterIterator"].get("itemInput"))
                if task["parameterIterator"].get("itemInput") not in parameters:
                    problems.append(f"{here}: itemInput is not an input of {ref}")
            if missing:
                problems.append(f"{here}: inputs {sorted(missing)} of {ref} are not given")
            if "dag" in component:
                check_dag(f"components.{ref}.dag", component["dag"], component)

    for name, component in components.items():
        label = component.get("executorLabel")
        if label is not None and label not in executors:
            problems.append(f"components.{name}: executorLabel '{label}' is not an executor")
        if label is not None:
            parameters, _ = inputs_of(component)
            for argument in executors.get(label, {}).get("container", {}).get("args", []):
                for used in re.findall(r"\{\{\$\.inputs\.parameters\['([^']+)'\]\}\}", argument):
                    if used not in parameters:
                        problems.append(f"deploymentSpec.executors.{label}: uses input '{used}', which {name} does not have")
    used = {c.get("executorLabel") for c in components.values()}
    for label in executors:
        if label not in used:
            problems.append(f"deploymentSpec.executors.{label}: no component uses it")
    check_dag("root.dag", spec.get("root", {}).get("dag", {}), spec.get("root", {}))
    return problems


def pipeline(path):
    from kfp import compiler, components
    from kfp.kubernetes import kubernetes_executor_config_pb2

    with open(path) as f:
        documents = list(yaml.safe_load_all(f))
    spec = json_format.ParseDict(documents[0], pipeline_spec_pb2.PipelineSpec(), ignore_unknown_fields=False)
    platform = None
    if len(documents) > 1:
        platform = json_format.ParseDict(documents[1], pipeline_spec_pb2.PlatformSpec(), ignore_unknown_fields=False)
        for config in documents[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"].values():
            json_format.ParseDict(config, kubernetes_executor_config_pb2.KubernetesExecutorConfig(), ignore_unknown_fields=False)
    problems = references(documents[0])
    executors = set(documents[0]["deploymentSpec"]["executors"])
    if len(documents) > 1:
        for label in documents[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]:
            if label not in executors:
                problems.append(f"platform executors.{label}: not an executor of the pipeline")
    if problems:
        for problem in problems:
            print(f"{path}: {problem}", file=sys.stderr)
        sys.exit(1)
    # kfp loads it as a component and compiles it back: the same pipeline (proto3 defaults aside).
    loaded = components.load_component_from_file(path)
    with tempfile.NamedTemporaryFile(suffix=".yaml") as out:
        compiler.Compiler().compile(loaded, out.name)
        with open(out.name) as f:
            again = list(yaml.safe_load_all(f))
    first = json_format.MessageToDict(spec)
    second = json_format.MessageToDict(json_format.ParseDict(again[0], pipeline_spec_pb2.PipelineSpec()))
    for key in ("sdkVersion",):
        first.pop(key, None)
        second.pop(key, None)
    if first != second:
        problems.append("kfp's load and compile round trip gives another pipeline")
    if platform is not None:
        back = json_format.MessageToDict(json_format.ParseDict(again[1], pipeline_spec_pb2.PlatformSpec())) if len(again) > 1 else {}
        if back != json_format.MessageToDict(platform):
            problems.append("kfp's round trip gives another platform spec")
    if problems:
        for problem in problems:
            print(f"{path}: {problem}", file=sys.stderr)
        sys.exit(1)
    root = documents[0]["root"]["dag"]["tasks"]
    print(json.dumps({
        "name": loaded.name,
        "root_tasks": sorted(root),
        "dependencies": {name: sorted(task.get("dependentTasks", [])) for name, task in root.items()},
        "trigger": {name: task["triggerPolicy"]["condition"] for name, task in root.items() if "triggerPolicy" in task},
        "iterator": {name: task["parameterIterator"] for name, task in root.items() if "parameterIterator" in task},
    }, sort_keys=True))


def main():
    command, path = sys.argv[1], sys.argv[2]
    try:
        {"executor-output": executor_output, "pipeline": pipeline}[command](path)
    except json_format.ParseError as error:
        print(f"{path}: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
