import Wire

/// Why a request to the cluster or a `tandemctl` command failed, and the exit code that says so.
///
/// ``description`` is the whole line printed on standard error.
public struct ClientError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Base: Hashable, Sendable {
        case notLoggedIn
        case refused(message: String)
        case unexpectedReply(expected: String, reply: String)
        case unreachable(attempts: [String], refused: Bool)
        case connectionLost(tracker: String, detail: String)
        case usage(message: String)
        case failed(message: String)
    }

    private let base: Base

    private init(_ base: Base) { self.base = base }

    /// The exit code of usage and configuration errors.
    public static let usageExitCode: Int32 = 2

    /// No stored session, or the cluster no longer knows it.
    public static let notLoggedIn = ClientError(.notLoggedIn)
    /// The cluster answered with an error.
    public static func refused(_ message: String) -> ClientError { ClientError(.refused(message: message)) }
    /// The cluster answered with a reply of the wrong kind (client and tracker versions disagree).
    public static func unexpectedReply(expected: String, reply: Reply) -> ClientError {
        ClientError(.unexpectedReply(expected: expected, reply: TextAdapter.render(reply)))
    }
    /// No tracker answered; each attempt names the tracker and what went wrong.
    /// `refused` when every tracker's host refused the connection outright (none is running).
    public static func unreachable(attempts: [String], refused: Bool = false) -> ClientError {
        ClientError(.unreachable(attempts: attempts, refused: refused))
    }

    /// Whether no tracker is running at all: every one refused the connection.
    public var everyTrackerRefused: Bool {
        if case .unreachable(_, refused: true) = self.base { true } else { false }
    }
    /// The tracker went away or went silent before it replied.
    public static func connectionLost(tracker: String, detail: String) -> ClientError {
        ClientError(.connectionLost(tracker: tracker, detail: detail))
    }
    /// The command line or the environment is wrong; `message` says how to fix it.
    public static func usage(_ message: String) -> ClientError { ClientError(.usage(message: message)) }
    /// A local operation failed (files, child processes).
    public static func failed(_ message: String) -> ClientError { ClientError(.failed(message: message)) }

    /// Whether no tracker answered.
    public var isUnreachable: Bool {
        if case .unreachable = self.base { true } else { false }
    }

    /// 0 is success; 1 refused or failed; 2 usage; 3 no tracker reachable.
    public var exitCode: Int32 {
        switch self.base {
        case .notLoggedIn, .refused, .unexpectedReply, .failed: 1
        case .usage: Self.usageExitCode
        case .unreachable, .connectionLost: 3
        }
    }

    public var description: String {
        switch self.base {
        case .notLoggedIn:
            "not logged in: run tandemctl login USER"
        case .refused(let message):
            message
        case .unexpectedReply(let expected, let reply):
            "expected \(expected) from the tracker, got '\(reply)'; check that tandemctl and tandemd match"
        case .unreachable(let attempts, refused: true):
            "no tracker is running: each refused the connection (start them: tandemctl up here, or scripts/deploy); "
                + "tried " + attempts.joined(separator: "; ")
        case .unreachable(let attempts, refused: false):
            "no tracker reachable; tried " + attempts.joined(separator: "; ")
        case .connectionLost(let tracker, let detail):
            "lost \(tracker) before its reply (\(detail)); the command may or may not have been applied"
        case .usage(let message), .failed(let message):
            message
        }
    }
}
