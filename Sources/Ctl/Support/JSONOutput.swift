import Foundation

/// Stable JSON for `--json`: sorted keys, snake_case names, one document per command.
enum JSONOutput {
    /// Prints `value` as compact JSON with sorted keys on one line of standard output.
    static func print<Value: Encodable>(_ value: Value) throws {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        Swift.print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }
}
