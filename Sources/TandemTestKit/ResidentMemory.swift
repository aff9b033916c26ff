import Foundation

/// The resident set size of process `pid` in bytes, from `/proc/<pid>/status`.
public func residentBytes(of pid: Int32) throws -> Int {
    try statusKilobytes("VmRSS", of: pid) * 1024
}

/// The peak resident set size of process `pid` so far in bytes (`VmHWM` of `/proc/<pid>/status`).
public func peakResidentBytes(of pid: Int32) throws -> Int {
    try statusKilobytes("VmHWM", of: pid) * 1024
}

/// The value of the `field:` line of `/proc/<pid>/status`, in kB.
private func statusKilobytes(_ field: String, of pid: Int32) throws -> Int {
    let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
    guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }),
        let kilobytes = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    else {
        throw SocketError(description: "no \(field) line in /proc/\(pid)/status")
    }
    return kilobytes
}
