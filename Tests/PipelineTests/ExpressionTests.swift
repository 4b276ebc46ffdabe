import Foundation
import MLOpsCore
import MLOpsTestSupport
import Pipeline
import Tabular
import Testing

@Suite struct ExpressionTests {
    let taxi: [String: FeatureType] = ["tips": .float, "fare": .float, "payment_type": .bytes, "trip_miles": .float]

    func numbers(_ source: String, _ csv: String) throws -> [Double] {
        let expression = try Expression.parse(source)
        guard case .numbers(let values) = expression.evaluate(on: try table(csv)) else {
            Issue.record("\(source) did not give numbers")
            return []
        }
        return values
    }

    @Test func theTaxiLabelIsOneLine() throws {
        let expression = try Expression.parse("tips > 0.2 * fare")
        #expect(
            expression
                == .binary(
                    ">", .column("tips", at: 1), .binary("*", .number(0.2), .column("fare", at: 14), at: 12), at: 6))
        #expect(try expression.type(columns: taxi) == .boolean)
        #expect(expression.columns == ["tips", "fare"])
        let values = try numbers("tips > 0.2 * fare", "tips,fare\n3,10\n1,10\n,10\n2,\n")
        #expect(values[0] == 1 && values[1] == 0)
        #expect(values[2].isNaN && values[3].isNaN)  // a missing operand makes the label missing
    }

    @Test func precedenceFunctionsAndMissingValues() throws {
        let csv = "a,b,c\n1,2,x\n,3,y\n4,,\n"
        #expect(try numbers("1 + 2 * 3 - 4 / 2", csv) == [5, 5, 5])
        #expect(try numbers("-(1 + 2) * 2 % 4", csv) == [-2, -2, -2])
        #expect(try numbers("coalesce(a, b, 0)", csv) == [1, 3, 4])
        #expect(try numbers("is_missing(a) or is_missing(c)", csv) == [0, 1, 1])
        #expect(try numbers("if(a > 2, 10, 20)", csv).map { $0.isNaN ? -1 : $0 } == [20, -1, 10])
        #expect(try numbers("max(1, 5, 3) + min(2, 0)", csv) == [5, 5, 5])
        #expect(try numbers("abs(-3) + log(1)", csv) == [3, 3, 3])
        #expect(try numbers("c == 'x' and not (b > 2)", csv).map { $0.isNaN ? -1 : $0 } == [1, 0, -1])
        // Three-valued logic: false and missing is false; true or missing is true.
        #expect(try numbers("a > 100 and b > 0", csv).map { $0.isNaN ? -1 : $0 } == [0, -1, 0])
        #expect(try numbers("b > 100 and a > 0", csv).map { $0.isNaN ? -1 : $0 } == [0, 0, -1])
        #expect(try numbers("a > 0 or b > 100", csv).map { $0.isNaN ? -1 : $0 } == [1, -1, 1])
        #expect(try numbers("`a` / 0", csv).allSatisfy(\.isNaN))
        #expect(try numbers("1.5e2 + .5", csv) == [150.5, 150.5, 150.5])
    }

    @Test func parseErrorsPointAtTheirColumn() {
        func error(_ source: String) -> ExpressionError? {
            do {
                _ = try Expression.parse(source)
                return nil
            } catch { return error }
        }
        #expect(error("tips > ") == ExpressionError("the expression ends too early", column: 8))
        #expect(error("tips = fare") == ExpressionError("'=' is not an operator: write '==' to compare", column: 6))
        #expect(error("(tips + 1") == ExpressionError("expected ')', found 'end of the expression'", column: 10))
        #expect(error("tips fare") == ExpressionError("unexpected 'fare' after the expression", column: 6))
        #expect(error("lg(tips)") == ExpressionError("unknown function 'lg' (did you mean 'log'?)", column: 1))
        #expect(error("tips # 2") == ExpressionError("unexpected character '#'", column: 6))
        #expect(error("payment_type == 'Cash") == ExpressionError("a text literal is not closed", column: 17))
        #expect(error("and tips") == ExpressionError("'and' needs a value before it", column: 1))
    }

    @Test func typeErrorsNameTheColumnAndWhere() throws {
        func error(_ source: String) throws -> ExpressionError? {
            do {
                _ = try Expression.parse(source).type(columns: taxi)
                return nil
            } catch { return error }
        }
        #expect(
            try error("payment_type * 2") == ExpressionError("'*' needs numbers, but payment_type is text", column: 1))
        #expect(try error("fare + tipz") == ExpressionError("no column 'tipz' (did you mean 'tips'?)", column: 8))
        #expect(try error("payment_type == 2") == ExpressionError("'==' compares text with a number", column: 14))
        #expect(
            try error("if(tips > 1, 'big', 0)")
                == ExpressionError("if() gives text in one branch and a number in the other", column: 1))
        #expect(try error("log(tips, 2)") == ExpressionError("log() takes 1 argument, found 2", column: 1))
        #expect(try error("coalesce(payment_type, 'none')") == nil)
        #expect(try Expression.parse("payment_type == 'Cash'").type(columns: taxi) == .boolean)
    }
}

@Suite struct DeriveConfigTests {
    @Test func aBadExpressionInMlopsYamlPointsAtItsColumn() {
        let yaml =
            minimal + """
                transform:
                  derive:
                    big_tipper: tips > 0.2 * * fare
                    quoted: "fare = 2"

                """
        #expect(
            problems(yaml) == [
                "mlops.yaml:7:30: in 'transform.derive.big_tipper': expected a value, found '*'",
                "mlops.yaml:8:19: in 'transform.derive.quoted': '=' is not an operator: write '==' to compare",
            ])
    }
}
