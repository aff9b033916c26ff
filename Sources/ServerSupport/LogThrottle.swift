import Synchronization

/// Lets a log line that anyone can cause (a refused connection, a failed handshake) through at most once per
/// interval, counting the ones kept back, so that nobody can grow the logs by knocking.
///
/// ```swift
/// if let suppressed = refusals.permit() {
///     logger.warning("refused a connection", metadata: ["log.suppressed": "\(suppressed)"])
/// }
/// ```
public final class LogThrottle: Sendable {
    private struct State {
        var last: ContinuousClock.Instant?
        var suppressed = 0
    }

    /// The shortest time between two lines.
    public let interval: Duration
    private let state = Mutex(State())

    /// A throttle letting one line through every `interval`.
    public init(interval: Duration = .seconds(10)) {
        self.interval = interval
    }

    /// Nil when the line is to be kept back now; otherwise how many were kept back since the last one let through.
    public func permit(now: ContinuousClock.Instant = .now) -> Int? {
        self.state.withLock { state in
            if let last = state.last, now - last < self.interval {
                state.suppressed += 1
                return nil
            }
            defer { state.suppressed = 0 }
            state.last = now
            return state.suppressed
        }
    }
}
