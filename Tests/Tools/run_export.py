"""Runs an exported pipeline as its orchestrator would, on this machine: every task in
dependency order, each as its own process with its command line resolved from the export.

    run_export.py kfp FILE --param NAME=VALUE ... [--kill TASK] --log LOG
    run_export.py argo FILE --param NAME=VALUE ... [--kill TASK] [--workers N] --log LOG

kfp: the PipelineSpec's tasks, with the ExecutorInput built and the placeholders resolved by
kfp's own code (kfp.local's executor_input_utils and placeholder_utils, kfp 2.17.3 pinned),
output parameters and artifacts read back from the ExecutorOutput as kfp.local reads them,
trigger conditions evaluated on the blessings, loops over their items, retries per retryPolicy.
argo: the WorkflowTemplate's DAG, `{{workflow.parameters.*}}`, `{{inputs.parameters.*}}` and
`{{item}}` substituted, output parameters read from their files, `when` evaluated, retries per
retryStrategy, with up to --workers tasks at once (each a stand-in for a machine of its own).

The program `mlops` in a command is MLOPS_BINARY. Each task runs with TMPDIR set to a folder
of its own, so its clone (`--repository`) is there. --kill TASK kills TASK's first attempt with
SIGKILL once its component is executing (its staging folder exists), as a lost node would; the
orchestrator's retry then runs it again. LOG gets one JSON line per attempt:
{"task", "attempt", "status", "outputs", "skipped"}.
"""
import argparse
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import yaml


class Runner:
    def __init__(self, args):
        self.binary = os.environ.get("MLOPS_BINARY", "mlops")
        self.workers = args.workers
        self.kill = args.kill
        self.killed = False
        self.log = open(args.log, "a")
        self.lock = __import__("threading").Lock()
        self.scratch = tempfile.mkdtemp(prefix="mlops-orchestrated-")

    def record(self, **entry):
        with self.lock:
            self.log.write(json.dumps(entry, sort_keys=True) + "\n")
            self.log.flush()

    @staticmethod
    def children(pid):
        """The child processes of `pid`, whichever of its threads started them."""
        found = []
        for path in glob.glob(f"/proc/{pid}/task/*/children"):
            try:
                with open(path) as f:
                    found.extend(f.read().split())
            except OSError:
                pass
        return found

    def kill_midway(self, process, task, tmp):
        """SIGKILL the task's process group while its component executes: once its staging
        folder (`.mlops/tmp/COMPONENT-PID-…`; upstream pulls stage in `COMPONENT-pull-…`) is
        there and it has started a child (InfraValidator's server) or 0.3 s have passed."""
        component = "".join(part.capitalize() for part in task.split("-"))
        deadline = time.time() + 120
        staged = None
        while time.time() < deadline and process.poll() is None:
            if staged is None and glob.glob(os.path.join(tmp, "*", ".mlops", "tmp", f"{component}-[0-9]*")):
                staged = time.time()
            if staged is not None and (self.children(process.pid) or time.time() - staged > 0.3):
                # Every process of the task, as a container's end takes them all (InfraValidator's
                # server runs in a process group of its own).
                family, pending = [], [str(process.pid)]
                while pending:
                    pid = pending.pop()
                    family.append(int(pid))
                    pending.extend(self.children(pid))
                os.killpg(process.pid, signal.SIGKILL)
                for pid in family:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                self.killed = True
                return
            time.sleep(0.005)

    def execute(self, task, command, attempts, output_dir=None):
        """Runs `command` up to `attempts` times (the first killed when asked); returns the status."""
        command = [self.binary if part == "mlops" and index == 0 else part for index, part in enumerate(command)]
        status = None
        for attempt in range(1, attempts + 1):
            tmp = tempfile.mkdtemp(prefix=f"{task}-{attempt}-", dir=self.scratch)
            started = time.time()
            env = dict(os.environ, TMPDIR=tmp)
            # A session of its own: a kill takes the whole task (its `mlops serve` too), as a
            # container's does.
            process = subprocess.Popen(
                command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
            if self.kill == task and not self.killed:
                self.kill_midway(process, task, tmp)
            stdout, stderr = process.communicate()
            status = process.returncode
            self.record(
                task=task, attempt=attempt, status=status, seconds=round(time.time() - started, 3),
                stdout=stdout[-4000:], stderr=stderr[-4000:])
            if status == 0:
                return 0
        return status


class KFP(Runner):
    def __init__(self, args, document):
        super().__init__(args)
        from google.protobuf import json_format
        from kfp.pipeline_spec import pipeline_spec_pb2

        self.json_format = json_format
        self.pb2 = pipeline_spec_pb2
        self.document = document
        self.spec = json_format.ParseDict(document, pipeline_spec_pb2.PipelineSpec())
        self.executors = document["deploymentSpec"]["executors"]
        self.components = document["components"]

    def run(self, parameters):
        return self.dag(self.document["root"]["dag"], parameters, "root")

    @staticmethod
    def order(tasks):
        done, ordered = set(), []
        while len(ordered) < len(tasks):
            ready = sorted(n for n, t in tasks.items() if n not in done and set(t.get("dependentTasks", [])) <= done)
            if not ready:
                raise SystemExit(f"a cycle among {sorted(set(tasks) - done)}")
            for name in ready:
                done.add(name)
                ordered.append(name)
        return ordered

    def dag(self, dag, arguments, where):
        outputs = {}
        for name in self.order(dag["tasks"]):
            task = dag["tasks"][name]
            given = {}
            for key, value in task.get("inputs", {}).get("parameters", {}).items():
                if "componentInputParameter" in value:
                    given[key] = arguments[value["componentInputParameter"]]
                elif "taskOutputParameter" in value:
                    source = value["taskOutputParameter"]
                    given[key] = outputs.get(source["producerTask"], {}).get(source["outputParameterKey"])
                elif "runtimeValue" in value:
                    given[key] = value["runtimeValue"]["constant"]
            for key, value in task.get("inputs", {}).get("artifacts", {}).items():
                source = value["taskOutputArtifact"]
                given[key] = outputs.get(source["producerTask"], {}).get(source["outputArtifactKey"])
            if any(outputs.get(d) is None for d in task.get("dependentTasks", [])):
                self.record(task=name, skipped="an upstream task did not succeed")
                continue
            condition = task.get("triggerPolicy", {}).get("condition")
            if condition and not self.holds(condition, given):
                self.record(task=name, skipped=f"condition false: {condition}")
                outputs[name] = {}
                continue
            component = self.components[task["componentRef"]["name"]]
            if "parameterIterator" in task:
                iterator = task["parameterIterator"]
                results = []
                for item in json.loads(iterator["items"]["raw"]):
                    results.append(self.dag(component["dag"], dict(given, **{iterator["itemInput"]: item}), name))
                outputs[name] = {} if all(r is not None for r in results) else None
            elif "dag" in component:
                outputs[name] = self.dag(component["dag"], given, name)
            else:
                outputs[name] = self.container(name, task, component, given)
        return outputs

    def holds(self, condition, given):
        # The CEL the exports write: clauses `inputs.parameter_values['X'] == true` joined by &&.
        for clause in condition.split("&&"):
            match = re.fullmatch(r"\s*inputs\.parameter_values\['([^']+)'\] == (true|false)\s*", clause)
            if not match:
                raise SystemExit(f"unsupported condition: {condition}")
            if given.get(match.group(1)) != (match.group(2) == "true"):
                return False
        return True

    def container(self, name, task, component, given):
        from kfp.local import executor_input_utils, executor_output_utils, placeholder_utils

        component_spec = self.json_format.ParseDict(component, self.pb2.ComponentSpec())
        task_root = tempfile.mkdtemp(prefix=f"{name}-root-", dir=self.scratch)
        executor_input = executor_input_utils.construct_executor_input(
            component_spec=component_spec, arguments=given, task_root=task_root, block_input_artifact=False)
        executor_input_dict = executor_input_utils.executor_input_to_dict(executor_input, component_spec)
        container = self.executors[component["executorLabel"]]["container"]
        command = placeholder_utils.replace_placeholders(
            full_command=container.get("command", []) + container.get("args", []),
            executor_input_dict=executor_input_dict,
            pipeline_resource_name=self.document["pipelineInfo"]["name"],
            task_resource_name=name, pipeline_root=os.path.join(self.scratch, "pipeline-root"),
            unique_pipeline_id=placeholder_utils.make_random_id())
        attempts = 1 + int(task.get("retryPolicy", {}).get("maxRetryCount", 0))
        if self.execute(name, command, attempts) != 0:
            return None
        executor_output = executor_output_utils.load_executor_output(executor_input.outputs.output_file)
        produced = executor_output_utils.get_outputs_from_executor_output(
            executor_output=executor_output, executor_input=executor_input, component_spec=component_spec)
        self.record(task=name, outputs={k: (v if isinstance(v, (bool, int, float, str)) else getattr(v, "uri", str(v))) for k, v in produced.items()})
        return produced


class Argo(Runner):
    def __init__(self, args, document):
        super().__init__(args)
        self.document = document
        self.templates = {t["name"]: t for t in document["spec"]["templates"]}

    def run(self, parameters):
        """The DAG with up to `workers` tasks (each withItems item a task) running at once."""
        from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

        spec = self.document["spec"]
        workflow = {p["name"]: p.get("value", "") for p in spec.get("arguments", {}).get("parameters", [])}
        workflow.update(parameters)
        tasks = {t["name"]: t for t in self.templates[spec["entrypoint"]]["dag"]["tasks"]}
        outputs, running = {}, {}
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            while len(outputs) < len(tasks):
                for name in sorted(tasks):
                    task = tasks[name]
                    if name in outputs or name in running or not set(task.get("dependencies", [])) <= set(outputs):
                        continue
                    if any(outputs.get(d) is None for d in task.get("dependencies", [])):
                        self.record(task=name, skipped="an upstream task did not succeed")
                        outputs[name] = None
                        continue
                    if task.get("when") and not self.holds(task["when"], outputs):
                        self.record(task=name, skipped=f"when false: {task['when']}")
                        outputs[name] = {}
                        continue
                    running[name] = []
                    for item in task.get("withItems", [None]):
                        inputs = {
                            p["name"]: str(p["value"]).replace("{{item}}", str(item))
                            for p in task.get("arguments", {}).get("parameters", [])
                        }
                        running[name].append(
                            pool.submit(self.container, name, self.templates[task["template"]], workflow, inputs))
                if not running:
                    if len(outputs) < len(tasks):
                        raise SystemExit("a cycle")
                    break
                wait([f for futures in running.values() for f in futures], return_when=FIRST_COMPLETED)
                for name in [n for n, futures in running.items() if all(f.done() for f in futures)]:
                    results = [f.result() for f in running.pop(name)]
                    outputs[name] = results[0] if all(r is not None for r in results) else None
        return outputs

    @staticmethod
    def holds(when, outputs):
        expression = re.sub(
            r"\{\{tasks\.([a-z0-9-]+)\.outputs\.parameters\.([a-z_]+)\}\}",
            lambda m: str((outputs.get(m.group(1)) or {}).get(m.group(2))), when)
        for clause in expression.split("&&"):
            match = re.fullmatch(r"\s*(\S+) == (\S+)\s*", clause)
            if not match:
                raise SystemExit(f"unsupported when: {when}")
            if match.group(1) != match.group(2):
                return False
        return True

    def container(self, name, template, workflow, inputs):
        def substitute(text):
            text = re.sub(r"\{\{workflow\.parameters\.([a-z_]+)\}\}", lambda m: workflow[m.group(1)], text)
            return re.sub(r"\{\{inputs\.parameters\.([a-z_]+)\}\}", lambda m: inputs[m.group(1)], text)

        container = template["container"]
        command = [substitute(part) for part in container.get("command", []) + container.get("args", [])]
        # The container's /tmp/outputs, as a folder of this task's own.
        outdir = tempfile.mkdtemp(prefix=f"{name}-outputs-", dir=self.scratch)
        command = [part.replace("/tmp/outputs", outdir) for part in command]
        attempts = 1 + int(template.get("retryStrategy", {}).get("limit", 0))
        if self.execute(name, command, attempts) != 0:
            return None
        produced = {}
        for parameter in template.get("outputs", {}).get("parameters", []):
            path = parameter["valueFrom"]["path"].replace("/tmp/outputs", outdir)
            with open(path) as f:
                produced[parameter["name"]] = f.read()
        self.record(task=name, outputs=produced)
        return produced


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("format", choices=["kfp", "argo"])
    parser.add_argument("file")
    parser.add_argument("--param", action="append", default=[])
    parser.add_argument("--kill")
    parser.add_argument("--log", required=True)
    parser.add_argument("--workers", type=int, default=1, help="argo: tasks running at once (machines)")
    args = parser.parse_args()
    with open(args.file) as f:
        document = list(yaml.safe_load_all(f))[0]
    parameters = dict(p.split("=", 1) for p in args.param)
    runner = (KFP if args.format == "kfp" else Argo)(args, document)
    try:
        outputs = runner.run(parameters)
    finally:
        shutil.rmtree(runner.scratch, ignore_errors=True)
    failed = outputs is None or any(v is None for v in outputs.values())
    print(json.dumps({"failed": failed, "tasks": sorted(outputs)}))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
