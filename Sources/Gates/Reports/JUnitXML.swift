/// JUnit XML as GitLab, Jenkins and GitHub test reporters read it: one `testsuite` per class
/// name, one `testcase` per check. A failed check has a `failure` with its detail, a skipped one
/// `skipped`, a warning passes with its detail in `system-out`; `outputs` (by check name) adds
/// what a check printed, e.g. a test command's output.
public enum JUnitXML {
    public static func render(name: String, checks: [CheckResult], outputs: [String: String] = [:]) -> String {
        var suites: [(name: String, checks: [CheckResult])] = []
        for check in checks {
            if let index = suites.firstIndex(where: { $0.name == check.className }) {
                suites[index].checks.append(check)
            } else {
                suites.append((check.className, [check]))
            }
        }
        let failures = checks.filter { $0.outcome == .failed }.count
        let skipped = checks.filter { $0.outcome == .skipped }.count
        var xml = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
        xml +=
            #"<testsuites name="\#(escape(name))" tests="\#(checks.count)" failures="\#(failures)" errors="0" skipped="\#(skipped)">"#
        xml += "\n"
        for suite in suites {
            let suiteFailures = suite.checks.filter { $0.outcome == .failed }.count
            let suiteSkipped = suite.checks.filter { $0.outcome == .skipped }.count
            xml +=
                #"  <testsuite name="\#(escape(suite.name))" tests="\#(suite.checks.count)" failures="\#(suiteFailures)" errors="0" skipped="\#(suiteSkipped)">"#
                + "\n"
            for check in suite.checks {
                let open = #"    <testcase classname="\#(escape(check.className))" name="\#(escape(check.name))""#
                var body = ""
                switch check.outcome {
                case .passed: break
                case .warned: body += "      <system-out>warning: \(escape(check.detail))</system-out>\n"
                case .skipped: body += "      <skipped message=\"\(escape(check.detail))\"/>\n"
                case .failed:
                    body +=
                        "      <failure message=\"\(escape(check.detail))\" type=\"\(escape(check.className))\">"
                        + "\(escape(check.detail))</failure>\n"
                }
                if let output = outputs[check.name], !output.isEmpty, check.outcome != .warned {
                    body += "      <system-out>\(escape(output, keepLines: true))</system-out>\n"
                }
                xml += body.isEmpty ? open + "/>\n" : open + ">\n" + body + "    </testcase>\n"
            }
            xml += "  </testsuite>\n"
        }
        return xml + "</testsuites>\n"
    }

    /// XML character data and attribute text: the five entities, control characters dropped
    /// (line breaks too, unless `keepLines`, for element text).
    public static func escape(_ text: String, keepLines: Bool = false) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n": out += keepLines ? "\n" : " "
            case "\t": out += keepLines ? "\t" : " "
            default:
                if scalar.value >= 0x20 { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }
}
