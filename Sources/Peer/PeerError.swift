import Foundation

/// Why a peer daemon could not do what it was asked; ``description`` says what happened and what to do.
public struct PeerError: Error, Hashable, Sendable, CustomStringConvertible {
    public let description: String
    /// The exit code `tandemctl` ends with: 1 refused or failed, 2 usage, 3 unreachable.
    public let exitCode: Int32

    public init(_ description: String, exitCode: Int32 = 1) {
        self.description = description
        self.exitCode = exitCode
    }

    /// `path` is no longer the file it was when recorded: it was swapped for `what`.
    static func replaced(_ path: String, by what: String) -> PeerError {
        PeerError("\(path) was replaced by \(what) since it was recorded; it is not served or written")
    }

    /// A system call on `path` failed with `errno`.
    static func io(_ action: String, _ path: String, errno code: Int32 = errno) -> PeerError {
        let advice =
            switch code {
            case ENOSPC: "; free some space and run the command again"
            case EACCES, EPERM, EROFS: "; pick a directory you can write to"
            default: ""
            }
        return PeerError("cannot \(action) \(path): \(String(cString: strerror(code)))\(advice)")
    }
}
