import Foundation

/// Stable JSON for `--json`: sorted keys, snake_case names, one document per command.
enum JSONOutput {
    /// Prints `value` as pretty-printed JSON with sorted keys on standard output.
    static func print<Value: Encodable>(_ value: Value) throws {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        Swift.print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }
}
