import Foundation

/// Parses the human-readable numbers of `cluster.yaml`: sizes (`512KiB`), durations (`1.5s`) and integers.
enum HumanUnits {
    private static let sizeUnits: [String: Int] = [
        "": 1, "B": 1,
        "KB": 1_000, "kB": 1_000, "MB": 1_000_000, "GB": 1_000_000_000, "TB": 1_000_000_000_000,
        "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
    ]

    private static let durationUnits: [String: Int64] = [
        "ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
        "m": 60_000_000_000, "h": 3_600_000_000_000,
    ]

    /// A whole non-negative number; `_` may group digits as YAML allows (`10_000`).
    static func integer(_ text: String) -> Int? {
        let digits = text.trimmingCharacters(in: .whitespaces).replacing("_", with: "")
        guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit) else { return nil }
        return Int(digits)
    }

    /// Bytes from `65536`, `10_000`, `512KiB`, `16 MiB`, `1.5MB`; nil unless the result is a whole number of bytes.
    static func size(_ text: String) -> Int? {
        let (number, unit) = Self.split(text)
        guard let multiplier = Self.sizeUnits[unit] else { return nil }
        guard let value = Self.scale(number, by: Int64(multiplier)), value <= Int64(Int.max) else { return nil }
        return Int(value)
    }

    /// A duration from `100ms`, `1s`, `1.5s`, `2m`; a unit is required, and the result must be whole nanoseconds.
    static func duration(_ text: String) -> Duration? {
        let (number, unit) = Self.split(text)
        guard let multiplier = Self.durationUnits[unit] else { return nil }
        return Self.scale(number, by: multiplier).map { Duration.nanoseconds($0) }
    }

    /// A range as the error messages show it: `1...65535`, or `16KiB...16MiB` for sizes.
    static func describe(_ range: ClosedRange<Int>) -> String {
        "\(Self.describe(range.lowerBound))...\(Self.describe(range.upperBound))"
    }

    private static func describe(_ value: Int) -> String {
        for (unit, shift) in [("GiB", 30), ("MiB", 20), ("KiB", 10)]
        where value >= 1 << shift && value % (1 << shift) == 0 {
            return "\(value >> shift)\(unit)"
        }
        return String(value)
    }

    /// Splits `1.5 MiB` into `1.5` and `MiB`.
    private static func split(_ text: String) -> (number: Substring, unit: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces).replacing("_", with: "")
        guard let end = trimmed.firstIndex(where: { !$0.isASCIIDigit && $0 != "." }) else { return (trimmed[...], "") }
        let unit = trimmed[end...].trimmingCharacters(in: .whitespaces)
        return (trimmed[..<end], unit)
    }

    /// `number × multiplier` exactly, for a decimal `number` such as `1.5`; nil on overflow or a fractional result.
    private static func scale(_ number: Substring, by multiplier: Int64) -> Int64? {
        let parts = number.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = parts.first, !whole.isEmpty, whole.allSatisfy(\.isASCIIDigit),
            let wholeValue = Int64(whole)
        else { return nil }
        let (product, overflow) = wholeValue.multipliedReportingOverflow(by: multiplier)
        guard !overflow else { return nil }
        guard parts.count == 2 else { return product }
        let fraction = parts[1]
        guard !fraction.isEmpty, fraction.count <= 18, fraction.allSatisfy(\.isASCIIDigit),
            let fractionValue = Int64(fraction)
        else { return nil }
        var denominator: Int64 = 1
        for _ in 0..<fraction.count { denominator *= 10 }
        let (scaled, scaledOverflow) = fractionValue.multipliedReportingOverflow(by: multiplier)
        guard !scaledOverflow, scaled % denominator == 0 else { return nil }
        let (sum, sumOverflow) = product.addingReportingOverflow(scaled / denominator)
        return sumOverflow ? nil : sum
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { self >= "0" && self <= "9" }
}
