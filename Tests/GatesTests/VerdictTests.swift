import Gates
import MLOpsCore
import Testing

@Suite struct VerdictTests {
    func check(_ outcome: CheckResult.Outcome) -> CheckResult {
        CheckResult(
            className: "mlops.gate.evaluation.overall", name: "auc >= 0.7", outcome: outcome, detail: "auc 0.81")
    }

    @Test func passesOnlyWithAPassingCheckAndNoFailure() {
        #expect(GateVerdict(checks: [check(.passed)]).exitStatus == .success)
        #expect(GateVerdict(checks: [check(.passed), check(.failed)]).exitStatus == .verdictFailed)
        #expect(GateVerdict(checks: [check(.passed), check(.warned)]).passed)
    }

    @Test func aGateWithNothingCheckedBlessesNothing() {
        #expect(!GateVerdict(checks: []).passed)
        #expect(!GateVerdict(checks: [check(.skipped)]).passed)
    }

    @Test func strictTurnsWarningsIntoFailures() {
        let verdict = GateVerdict(checks: [check(.passed), check(.warned)]).strict()
        #expect(!verdict.passed)
        #expect(verdict.failures.count == 1)
        #expect(verdict.failures[0].detail.hasSuffix("(--strict)"))
    }
}
