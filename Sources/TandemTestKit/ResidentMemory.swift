import Foundation

/// The resident set size of process `pid` in bytes, from `/proc/<pid>/status`.
public func residentBytes(of pid: Int32) throws -> Int {
    let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
    guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
        let kilobytes = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    else {
        throw SocketError(description: "no VmRSS line in /proc/\(pid)/status")
    }
    return kilobytes * 1024
}
