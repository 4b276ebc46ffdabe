import Foundation
import MLOpsCore
import Pipeline

/// The plan as an Airflow 3 DAG file: one task per component, wired as the DAG says. With
/// `orchestration.airflow_operator: kubernetes` (the default) each task is a
/// `KubernetesPodOperator` running the image, its XCom the `return.json` the task writes to
/// `/airflow/xcom/`; with `bash`, a `BashOperator` running the `mlops` binary on the worker,
/// its XCom the same JSON as the command's last line. The release runs after a
/// `ShortCircuitOperator` that reads both blessings; the Tuner's trials are one mapped task.
struct AirflowExport {
    let plan: PipelinePlan

    func render() -> String {
        var lines = plan.header(format: "Airflow 3 DAG")
        lines.append("")
        lines.append("import json")
        lines.append("from datetime import datetime, timedelta")
        lines.append("")
        lines.append("from airflow.sdk import DAG, Param")
        lines.append("from airflow.providers.standard.operators.python import ShortCircuitOperator")
        if kubernetes {
            lines.append("from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator")
            lines.append("from kubernetes.client import models as k8s")
        } else {
            lines.append("from airflow.providers.standard.operators.bash import BashOperator")
        }
        lines.append("")
        lines += common
        lines.append("")
        lines.append("")
        lines.append("def _blessed(ti):")
        lines.append("    \"\"\"True when every gate task's XCom says the model is blessed.\"\"\"")
        lines.append("    for task_id in \(Self.list((plan.releaseAfter ?? []).map(Self.string))):")
        lines.append("        result = ti.xcom_pull(task_ids=task_id)")
        lines.append("        if isinstance(result, str):")
        lines.append("            result = json.loads(result)")
        lines.append("        if not result or result.get(\"blessed\") != \"true\":")
        lines.append("            return False")
        lines.append("    return True")
        lines.append("")
        lines.append("")
        lines.append("with DAG(")
        lines.append("    dag_id=\(Self.string(plan.name)),")
        lines.append("    description=\(Self.string(plan.description)),")
        lines.append("    schedule=\(plan.settings.schedule.map(Self.string) ?? "None"),")
        lines.append("    start_date=datetime(2024, 1, 1),")
        lines.append("    catchup=False,")
        lines.append("    max_active_runs=1,")
        lines.append("    tags=[\"mlops\"],")
        lines.append("    params={")
        lines.append(
            "        \"repository\": Param(\(Self.string(plan.settings.repository ?? "")), type=\"string\", "
                + "description=\"The git repository each task clones\"),")
        lines.append(
            "        \"revision\": Param(\(Self.string(plan.settings.revision)), type=\"string\", "
                + "description=\"The commit (or branch) to run\"),")
        lines.append("    },")
        lines.append(
            "    default_args={\"retries\": \(plan.settings.retries), \"retry_delay\": timedelta(seconds=30)},")
        lines.append(") as dag:")
        for step in plan.steps {
            switch step.kind {
            case .component: lines += taskLines(step)
            case .trial: lines += mappedTrials(plan.trials ?? 1, step)
            case .release:
                lines.append("    blessed = ShortCircuitOperator(task_id=\"blessed\", python_callable=_blessed)")
                lines += taskLines(step)
            }
        }
        lines.append("")
        for task in plan.tasks where !task.dependencies.isEmpty {
            let upstream = task.dependencies.sorted().map(Self.variable)
            lines.append("    \(Self.list(upstream)) >> \(Self.variable(task.name))")
        }
        if plan.trials != nil, let tuner = plan.tasks.first(where: { $0.component == .tuner }) {
            let upstream = tuner.dependencies.filter { $0 != PipelinePlan.trialTask }.sorted().map(Self.variable)
            lines.append("    \(Self.list(upstream)) >> tuner_trial")
        }
        if let after = plan.releaseAfter {
            lines.append("    \(Self.list(after.sorted().map(Self.variable))) >> blessed >> release")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    var kubernetes: Bool { plan.settings.airflowOperator == .kubernetes }

    /// Module-level settings shared by every task.
    var common: [String] {
        if kubernetes {
            var lines = ["IMAGE = \(Self.string(plan.image))", "NAMESPACE = \(Self.string(plan.settings.namespace))"]
            lines.append("# The storage settings, from the Kubernetes secret (a key it lacks is left unset).")
            lines.append("ENV = [")
            for key in plan.settings.secretKeys {
                lines.append(
                    "    k8s.V1EnvVar(name=\(Self.string(key)), value_from=k8s.V1EnvVarSource(secret_key_ref="
                        + "k8s.V1SecretKeySelector(name=\(Self.string(plan.settings.secret)), key=\(Self.string(key)), "
                        + "optional=True))),")
            }
            lines.append("]")
            return lines
        }
        return [
            "# The mlops binary on the workers' PATH; the storage settings (\(plan.settings.secretKeys.joined(separator: ", ")))",
            "# come from the workers' environment.",
            "MLOPS = \"mlops\"",
            "ENV = {\"MLOPS\": MLOPS, \"MLOPS_REPOSITORY\": \"{{ params.repository }}\", \"MLOPS_REVISION\": \"{{ params.revision }}\"}",
        ]
    }

    /// The run parameters, as the pod's arguments template them; a BashOperator reads them from
    /// its environment instead, so no value is ever parsed by the shell.
    static let repository = "{{ params.repository }}"
    static let revision = "{{ params.revision }}"

    func arguments(_ step: PipelinePlan.Step, trial: String = "") -> [String] {
        plan.arguments(
            step, trial: trial, repository: Self.repository, revision: Self.revision,
            contract: kubernetes ? ["--output-dir", "/airflow/xcom"] : [])
    }

    /// A shell command line for the BashOperator: mlops, then its return.json as the last line.
    func bashCommand(_ arguments: [String], xcom: Bool) -> String {
        let quoted = arguments.map { argument in
            switch argument {
            case Self.repository: "\"$MLOPS_REPOSITORY\""
            case Self.revision: "\"$MLOPS_REVISION\""
            default: "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
            }
        }
        guard xcom else { return "\"$MLOPS\" " + quoted.joined(separator: " ") }
        return "out=$(mktemp -d) && \"$MLOPS\" " + quoted.joined(separator: " ")
            + " --output-dir \"$out\" && cat \"$out/return.json\"; status=$?; rm -rf \"$out\"; exit $status"
    }

    func taskLines(_ step: PipelinePlan.Step) -> [String] {
        var xcom = true
        if case .release = step.kind { xcom = false }
        let (task, variable) = (step.name, Self.variable(step.name))
        if kubernetes {
            return [
                "    \(variable) = KubernetesPodOperator(",
                "        task_id=\(Self.string(task)),",
                "        name=\(Self.string("\(plan.name)-\(task)".lowercased())),",
                "        namespace=NAMESPACE,",
                "        image=IMAGE,",
                "        cmds=[\"mlops\"],",
                "        arguments=\(Self.list(arguments(step).map(Self.string))),",
                "        env_vars=ENV,",
                "        container_resources=\(Self.resources(step.resources)),",
            ] + (plan.settings.serviceAccount.map { ["        service_account_name=\(Self.string($0)),"] } ?? []) + [
                "        do_xcom_push=\(xcom ? "True" : "False"),",
                "        get_logs=True,",
                "    )",
            ]
        }
        return [
            "    \(variable) = BashOperator(",
            "        task_id=\(Self.string(task)),",
            "        bash_command=\(Self.string(bashCommand(arguments(step), xcom: xcom))),",
            "        env=ENV,",
            "        append_env=True,",
            "        do_xcom_push=\(xcom ? "True" : "False"),",
            "    )",
        ]
    }

    /// The trials as one mapped task: an instance per trial number.
    func mappedTrials(_ trials: Int, _ step: PipelinePlan.Step) -> [String] {
        let numbers = (1...max(trials, 1)).map(String.init)
        if kubernetes {
            return [
                "    tuner_trial = KubernetesPodOperator.partial(",
                "        task_id=\(Self.string(PipelinePlan.trialTask)),",
                "        name=\(Self.string("\(plan.name)-\(PipelinePlan.trialTask)".lowercased())),",
                "        namespace=NAMESPACE,",
                "        image=IMAGE,",
                "        cmds=[\"mlops\"],",
                "        env_vars=ENV,",
                "        container_resources=\(Self.resources(step.resources)),",
                "        do_xcom_push=True,",
                "        get_logs=True,",
                "    ).expand(",
                "        arguments=[",
            ]
                + numbers.map {
                    "            \(Self.list(arguments(step, trial: $0).map(Self.string))),"
                } + [
                    "        ],",
                    "    )",
                ]
        }
        return [
            "    tuner_trial = BashOperator.partial(",
            "        task_id=\(Self.string(PipelinePlan.trialTask)),",
            "        env=ENV,",
            "        append_env=True,",
            "        do_xcom_push=True,",
            "    ).expand(",
            "        bash_command=[",
        ]
            + numbers.map {
                "            \(Self.string(bashCommand(arguments(step, trial: $0), xcom: true))),"
            } + [
                "        ],",
                "    )",
            ]
    }

    static func resources(_ resources: ResourceRequest) -> String {
        "k8s.V1ResourceRequirements(requests={\"cpu\": \(string(resources.cpu)), \"memory\": \(string(resources.memory))}, "
            + "limits={\"memory\": \(string(resources.memory))})"
    }

    /// `example-gen` → `example_gen`.
    static func variable(_ task: String) -> String { task.replacingOccurrences(of: "-", with: "_") }

    static func list(_ items: [String]) -> String { "[" + items.joined(separator: ", ") + "]" }

    /// A Python string literal.
    static func string(_ text: String) -> String { StringLiteral.python(text) }
}
