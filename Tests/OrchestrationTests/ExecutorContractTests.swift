import Foundation
import MLOpsCore
import Testing

@testable import Orchestration

/// Kubeflow Pipelines' ExecutorInput as its launcher fills it in: the fields mlops reads, the
/// others ignored, bad JSON a usage error.
@Suite struct ExecutorContractTests {
    @Test func theFieldsMLOpsUsesAreReadAndTheOthersIgnored() throws {
        let contract = try KFPExecutorContract(
            json: """
                {"inputs": {"parameterValues": {"trial": 3, "name": "x", "flag": true},
                            "artifacts": {"examples": {"artifacts": [{"uri": "s3://a/b"}]}}},
                 "outputs": {"parameters": {"blessed": {"outputFile": "/tmp/out/blessed"}},
                             "artifacts": {"model": {"artifacts": [{"name": "model", "uri": "s3://root/model",
                                                                    "type": {"schemaTitle": "system.Model"}}]}},
                             "outputFile": "/tmp/out/executor_output.json"},
                 "somethingNew": {"a": 1}}
                """)
        #expect(contract.parameterFiles == ["blessed": "/tmp/out/blessed"])
        #expect(contract.artifacts["model"]?.uri == "s3://root/model")
        #expect(contract.outputFile == "/tmp/out/executor_output.json")
        #expect(contract.parameterValues["trial"]?.integer == 3)
        #expect(contract.parameterValues["name"] == .string("x"))
        #expect(contract.parameterValues["flag"]?.integer == nil)
    }

    @Test(arguments: ["", "[]", "{\"outputs\": 3}", "{\"outputs\": {\"outputFile\": 7}}"])
    func malformedInputIsAUsageError(_ text: String) {
        let error = #expect(throws: UsageError.self) { try KFPExecutorContract(json: text) }
        #expect(error?.message.hasPrefix("--executor-input is not KFP's ExecutorInput JSON") == true)
        #expect(error?.exitStatus == .usage)
    }
}
