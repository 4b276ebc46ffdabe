import Foundation

extension CSVReader {
    /// One column's storage while reading: typed values and presence.
    struct ColumnBuilder {
        enum State { case int, float, bytes }
        let forced: FeatureType?
        var state: State
        var ints: [Int64] = []
        var floats: [Double] = []
        var dictionary = ByteDictionary()
        var codes: [Int32] = []
        var present: [Bool] = []
        var sawNumber = false
        /// Text appeared after numbers in an inferred column: its text must be read again.
        var needsTextPass = false

        /// Who the column is, for messages; a class so copying a builder copies one reference.
        final class Context: Sendable {
            let name: String
            let file: String
            /// The column's field number when a wrong type is an error (`strictTypes`).
            let strictField: Int?
            init(name: String, file: String, strictField: Int?) {
                self.name = name
                self.file = file
                self.strictField = strictField
            }
        }
        let context: Context

        init(forced: FeatureType?, name: String, file: String, strictField: Int? = nil) {
            self.context = Context(name: name, file: file, strictField: strictField)
            self.forced = forced
            switch forced {
            case .int?, nil: state = .int
            case .float?: state = .float
            case .bytes?: state = .bytes
            }
        }

        /// Appends one cell. The hot path takes only the span and the mapped bytes: the column's
        /// name and file (needed only for errors) live in `context`, so nothing is retained per cell.
        mutating func append(_ span: FieldSpan, bytes: UnsafeRawBufferPointer, line: Int) throws(CSVError) {
            if needsTextPass { return }
            guard !span.isEmpty else {
                present.append(false)
                switch state {
                case .int: ints.append(0)
                case .float: floats.append(.nan)
                case .bytes: codes.append(-1)
                }
                return
            }
            switch state {
            case .int:
                if let value = try CSVScanner.withText(span, in: bytes, { CSVReader.parseInt($0) }) {
                    ints.append(value)
                    present.append(true)
                    sawNumber = true
                    return
                }
                if forced == .int {  // under a schema a value of the wrong type is missing
                    try refuse(span, bytes: bytes, line: line, expected: .int)
                    ints.append(0)
                    present.append(false)
                    return
                }
                convert(to: .float)
                try append(span, bytes: bytes, line: line)
            case .float:
                if let value = try CSVScanner.withText(span, in: bytes, { CSVReader.parseDouble($0) }) {
                    floats.append(value)
                    present.append(true)
                    sawNumber = true
                    return
                }
                if forced == .float {
                    try refuse(span, bytes: bytes, line: line, expected: .float)
                    floats.append(.nan)
                    present.append(false)
                    return
                }
                if sawNumber {
                    needsTextPass = true
                    return
                }
                // Only missing cells so far: nothing is lost by switching to text now.
                convert(to: .bytes)
                try append(span, bytes: bytes, line: line)
            case .bytes:
                guard let code = try CSVScanner.withText(span, in: bytes, { dictionary.code(for: $0) }) else {
                    throw CSVError(.invalidUTF8(column: context.name), file: context.file, line: line)
                }
                codes.append(code)
                present.append(true)
            }
        }

        /// Under `strictTypes`, a value of the wrong type is an error naming it.
        func refuse(_ span: FieldSpan, bytes: UnsafeRawBufferPointer, line: Int, expected: FeatureType) throws(CSVError)
        {
            guard let field = context.strictField else { return }
            let value = String(decoding: CSVScanner.text(span, in: bytes).prefix(40), as: UTF8.self)
            throw CSVError(
                .wrongType(column: context.name, expected: expected, value: value), file: context.file, line: line,
                field: field)
        }

        /// Takes back the last value appended (a row refused after this column took its value).
        mutating func removeLast() {
            guard !needsTextPass, !present.isEmpty else { return }
            present.removeLast()
            switch state {
            case .int: ints.removeLast()
            case .float: floats.removeLast()
            case .bytes: codes.removeLast()
            }
        }

        mutating func reserve(_ rows: Int) {
            present.reserveCapacity(rows)
            switch state {
            case .int: ints.reserveCapacity(rows)
            case .float: floats.reserveCapacity(rows)
            case .bytes: codes.reserveCapacity(rows)
            }
        }

        /// One builder from the builders of consecutive chunks, consuming them: the widest type
        /// wins (INT, FLOAT, then text); text after numbers in any chunk means a second pass,
        /// as in one pass.
        static func merge(_ parts: inout [ColumnBuilder], forced: FeatureType?) -> ColumnBuilder {
            guard let first = parts.first else { return ColumnBuilder(forced: forced, name: "", file: "") }
            guard parts.count > 1 else { return first }
            let numeric = parts.contains { $0.sawNumber }
            if parts.contains(where: { $0.needsTextPass }) || (numeric && parts.contains { $0.state == .bytes }) {
                var merged = ColumnBuilder(forced: forced, name: first.context.name, file: first.context.file)
                merged.needsTextPass = true
                return merged
            }
            let target: State =
                parts.contains { $0.state == .bytes }
                ? .bytes : parts.contains { $0.state == .float } ? .float : parts[0].state
            var merged = parts[0]
            parts[0] = ColumnBuilder(forced: nil, name: "", file: "")  // `merged` now owns the arrays alone
            merged.convert(to: target)
            for index in 1..<parts.count {
                var part = parts[index]
                parts[index] = ColumnBuilder(forced: nil, name: "", file: "")
                part.convert(to: target)
                merged.present.append(contentsOf: part.present)
                merged.sawNumber = merged.sawNumber || part.sawNumber
                switch target {
                case .int: merged.ints.append(contentsOf: part.ints)
                case .float: merged.floats.append(contentsOf: part.floats)
                case .bytes:
                    let remap = part.dictionary.strings.map { merged.dictionary.code(for: $0) }
                    merged.codes.append(contentsOf: part.codes.lazy.map { $0 < 0 ? -1 : remap[Int($0)] })
                }
            }
            return merged
        }

        /// Widens this chunk's storage to `target` (only missing cells become text).
        mutating func convert(to target: State) {
            guard state != target else { return }
            switch (state, target) {
            case (.int, .float):
                floats = zip(ints, present).map { $1 ? Double($0) : .nan }
                ints = []
            case (_, .bytes):
                codes = [Int32](repeating: -1, count: present.count)  // no number was seen here
                ints = []
                floats = []
            default:
                return
            }
            state = target
        }

        func finish(name: String) -> Column {
            switch state {
            case .int where forced == .int || sawNumber:
                return Column(name: name, type: .int, values: .int(ints), present: present)
            case .int:
                // No value at all: FLOAT, as documented.
                return Column(
                    name: name, type: .float, values: .float([Double](repeating: .nan, count: present.count)),
                    present: present)
            case .float:
                return Column(name: name, type: .float, values: .float(floats), present: present)
            case .bytes:
                return Column(
                    name: name, type: .bytes, values: .bytes(dictionary: dictionary.strings, codes: codes),
                    present: present)
            }
        }
    }

}
