import ArgumentParser
import Foundation
import MLOpsCore
import Orchestration
import Pipeline

extension ExportFormat: ExpressibleByArgument {}

extension MLOps.PipelineCommand {
    struct Export: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Write the pipeline for Kubeflow Pipelines, Argo Workflows or Airflow.",
            discussion: """
                Each task of the export runs `mlops component run NAME` in a fresh clone of the \
                repository (a run parameter, default orchestration.repository) at a revision (default \
                orchestration.revision), with the storage settings from a Kubernetes secret \
                (orchestration.secret): the remote cache, the store and the registry are how the tasks \
                share their results. The Tuner's trials are parallel tasks and the release runs only \
                when the Evaluator and InfraValidator both bless the model. kfp: a v2 PipelineSpec YAML \
                (upload it, or `kfp run create`); argo: a WorkflowTemplate (`argo submit --from \
                workflowtemplate/NAME`); airflow: a DAG file for the dags folder. The same mlops.yaml \
                gives the same bytes (docs/orchestration.md).
                """)
        static let jsonSchema = "mlops.pipeline-export/v1"

        @OptionGroup var global: GlobalOptions

        @Option(
            name: .customLong("to"), help: ArgumentHelp("The orchestrator: kfp, argo or airflow.", valueName: "format"))
        var format: ExportFormat

        @Option(
            help: ArgumentHelp("The container image of the tasks (default: orchestration.image).", valueName: "image"))
        var image: String?

        @Option(name: .shortAndLong, help: ArgumentHelp("Write it to this file (default: stdout).", valueName: "file"))
        var output: String?

        func validate() throws {
            if let image, image.isEmpty || image.contains(where: \.isWhitespace) {
                throw ValidationError("--image: '\(image)' is not an image reference")
            }
        }

        struct Output: Encodable {
            let format: String
            let file: String?
            let text: String?
            let tasks: [String]
        }

        func run(context: CommandContext) async throws {
            let console = context.console
            let root = try context.projectRoot()
            let config = try MLOpsConfig.load(from: root.appendingPathComponent(MLOpsConfig.fileName), root: root)
            let plan = PipelinePlan(config: config, image: image)
            let text = try plan.render(format)
            if let output {
                try AtomicFile.write(Data(text.utf8), to: URL(fileURLWithPath: output))
            }
            let tasks = plan.steps.map(\.name)
            if console.mode == .json {
                try console.json(
                    JSONOutput(
                        schema: Self.jsonSchema,
                        result: Output(
                            format: format.rawValue, file: output, text: output == nil ? text : nil, tasks: tasks)))
            } else if let output {
                console.line(
                    "wrote \(output): \(format.rawValue), \(tasks.count) tasks (\(tasks.joined(separator: ", ")))")
            } else {
                FileHandle.standardOutput.write(Data(text.utf8))
            }
        }
    }
}
