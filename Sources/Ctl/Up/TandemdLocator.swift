import Foundation

/// Finds the `tandemd` executable: next to the running `tandemctl` first, then on `PATH`.
enum TandemdLocator {
    /// The absolute path of `tandemd`, or nil when there is none.
    static func find(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        var candidates: [String] = []
        if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append((executable as NSString).deletingLastPathComponent + "/tandemd")
        }
        for directory in (environment["PATH"] ?? "").split(separator: ":") where !directory.isEmpty {
            candidates.append("\(directory)/tandemd")
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Where ``find(environment:)`` looked, for the error message.
    static var searched: String {
        let directory =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            .map { ($0 as NSString).deletingLastPathComponent } ?? "the directory of tandemctl"
        return "\(directory) and PATH"
    }
}
