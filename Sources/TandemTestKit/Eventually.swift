import Foundation

/// A condition did not become true before its deadline.
public struct DeadlineExceeded: Error, CustomStringConvertible {
    /// What was being waited for.
    public let waitingFor: String

    public var description: String { "timed out waiting for \(self.waitingFor)" }
}

/// Polls `condition` until it returns a value or `timeout` passes; never a fixed sleep.
///
/// - Returns: the first non-nil value `condition` produced.
public func eventually<Value>(
    _ waitingFor: String, timeout: Duration = .seconds(20), poll: Duration = .milliseconds(20),
    _ condition: () throws -> Value?
) throws -> Value {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while true {
        if let value = try condition() { return value }
        guard ContinuousClock.now < deadline else { throw DeadlineExceeded(waitingFor: waitingFor) }
        Thread.sleep(forTimeInterval: Double(poll.components.attoseconds) / 1e18 + Double(poll.components.seconds))
    }
}
