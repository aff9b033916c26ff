import Foundation

/// Plain aligned columns for human output: a header row, then one row per item, two spaces between columns.
enum TextTable {
    /// The rows under `headers`, each column as wide as its widest cell; no trailing spaces.
    static func render(headers: [String], rows: [[String]]) -> String {
        let all = [headers] + rows
        let widths = headers.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
