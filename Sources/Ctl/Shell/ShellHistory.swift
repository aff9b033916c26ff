import Foundation
import TrackerClient

/// The lines typed at the shell, kept in `<home>/shell_history` (mode 0600), the last 1,000 of them.
struct ShellHistory {
    /// How many lines the file keeps.
    static let limit = 1_000

    let path: String
    private(set) var lines: [String]

    /// Loads the history of `home`; a missing file is an empty history.
    init(home: String) throws(ClientError) {
        self.path = home + "/shell_history"
        let text = try PrivateFile.read(self.path) ?? ""
        self.lines = Array(text.split(separator: "\n").suffix(Self.limit).map(String.init))
    }

    /// Adds a line and rewrites the file, dropping the oldest lines past the limit.
    mutating func append(_ line: String) throws(ClientError) {
        self.lines.append(line)
        if self.lines.count > Self.limit { self.lines.removeFirst(self.lines.count - Self.limit) }
        try PrivateFile.makeOwnDirectory((self.path as NSString).deletingLastPathComponent)
        try PrivateFile.write(self.lines.joined(separator: "\n") + "\n", to: self.path)
    }

    /// The history numbered from 1, as `history` prints it.
    var numbered: String {
        self.lines.enumerated().map { index, line in
            String(repeating: " ", count: max(0, 5 - String(index + 1).count)) + "\(index + 1)  \(line)"
        }.joined(separator: "\n")
    }
}
