import Foundation

extension CSVReader {
    // MARK: - Numbers (the CSV reader's integer and floating-point parsing)

    /// A 64-bit integer: optional sign, decimal digits only.
    package static func parseInt(_ text: some Collection<UInt8>) -> Int64? {
        var iterator = text.makeIterator()
        guard var byte = iterator.next() else { return nil }
        var negative = false
        if byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") {
            negative = byte == UInt8(ascii: "-")
            guard let next = iterator.next() else { return nil }
            byte = next
        }
        var value: Int64 = 0
        while true {
            guard byte >= 48, byte <= 57 else { return nil }
            let digit = Int64(byte - 48)
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) =
                negative ? times.subtractingReportingOverflow(digit) : times.addingReportingOverflow(digit)
            if overflow1 || overflow2 { return nil }
            value = sum
            guard let next = iterator.next() else { return value }
            byte = next
        }
    }

    private static let powersOfTen: [Double] = (0...22).map { exponent in
        var value = 1.0
        for _ in 0..<exponent { value *= 10 }
        return value
    }

    /// The Double `strtod` gives for the whole of `text`, or nil when it is not a number.
    /// Fast path (Clinger): at most 15 significant digits and a decimal exponent within ±22 are
    /// exact in one multiplication or division; everything else goes to `strtod`.
    package static func parseDouble(_ text: some Collection<UInt8>) -> Double? {
        var mantissa: UInt64 = 0
        var digits = 0
        var exponent = 0
        var sawDigit = false
        var negative = false
        var index = text.startIndex
        var simple = true
        if index != text.endIndex, text[index] == UInt8(ascii: "-") || text[index] == UInt8(ascii: "+") {
            negative = text[index] == UInt8(ascii: "-")
            index = text.index(after: index)
        }
        // Integer part.
        while index != text.endIndex, text[index] >= 48, text[index] <= 57 {
            sawDigit = true
            if mantissa != 0 || text[index] != 48 { digits += 1 }
            if digits <= 19 { mantissa = mantissa &* 10 &+ UInt64(text[index] - 48) } else { exponent += 1 }
            index = text.index(after: index)
        }
        if index != text.endIndex, text[index] == UInt8(ascii: ".") {
            index = text.index(after: index)
            while index != text.endIndex, text[index] >= 48, text[index] <= 57 {
                sawDigit = true
                if mantissa != 0 || text[index] != 48 { digits += 1 }
                if digits <= 19 {
                    mantissa = mantissa &* 10 &+ UInt64(text[index] - 48)
                    exponent -= 1
                }
                index = text.index(after: index)
            }
        }
        if index != text.endIndex, text[index] == UInt8(ascii: "e") || text[index] == UInt8(ascii: "E") {
            simple = false  // exponents: let strtod decide the few that occur
        }
        if simple, sawDigit, index == text.endIndex, digits <= 15, exponent >= -22, exponent <= 22 {
            var value = Double(mantissa)
            value = exponent < 0 ? value / powersOfTen[-exponent] : value * powersOfTen[exponent]
            return negative ? -value : value
        }
        return strtodWhole(text)
    }

    /// `strtod` on a NUL-terminated copy, accepted only if it consumes every byte.
    private static func strtodWhole(_ text: some Collection<UInt8>) -> Double? {
        let count = text.count
        guard count > 0, count < 512 else { return nil }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: count + 1) { buffer -> Double? in
            var position = 0
            for byte in text {
                // Leading white space is skipped by strtod; refuse it so " 12" stays text. Hex floats
                // (0x1A) are C syntax, not CSV numbers: identifiers like that stay text too.
                if position == 0 && (byte == 32 || (byte >= 9 && byte <= 13)) { return nil }
                if byte == UInt8(ascii: "x") || byte == UInt8(ascii: "X") { return nil }
                buffer[position] = CChar(bitPattern: byte)
                position += 1
            }
            buffer[count] = 0
            guard let base = buffer.baseAddress else { return nil }
            var end: UnsafeMutablePointer<CChar>?
            let value = strtod(base, &end)
            guard let end, end == base + count else { return nil }
            return value
        }
    }
}
