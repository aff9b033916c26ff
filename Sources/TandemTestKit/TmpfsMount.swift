import Foundation

/// A small tmpfs mounted over a directory for a test (a full disk, a read-only file system). Needs root.
public struct TmpfsMount {
    /// The directory the tmpfs covers.
    public let path: String

    /// Mounts a tmpfs with `options` (`size=1m`, `size=1m,ro`) over the existing directory `path`.
    public init(at path: String, options: String) throws {
        let result = try TestCluster.run(
            URL(fileURLWithPath: "/bin/mount"), ["-t", "tmpfs", "-o", options, "tmpfs", path], stdin: nil,
            in: URL(fileURLWithPath: "/"))
        guard result.status == 0 else {
            throw SocketError(description: "could not mount a tmpfs on \(path): \(result)")
        }
        self.path = path
    }

    /// Unmounts it (lazily: a process that still has a file open there keeps it until it closes).
    public func unmount() {
        _ = try? TestCluster.run(
            URL(fileURLWithPath: "/bin/umount"), ["-l", self.path], stdin: nil, in: URL(fileURLWithPath: "/"))
    }
}
