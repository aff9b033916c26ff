/// How fast a count grows, over the last ``window`` of samples: a download's bytes per second.
public struct RateMeter: Sendable {
    /// How far back samples count.
    public let window: Duration
    private var samples: [(at: Duration, total: UInt64)] = []

    public init(window: Duration) {
        self.window = window
    }

    /// The count stood at `total` at `now` (times only grow).
    public mutating func record(_ total: UInt64, at now: Duration) {
        self.samples.append((now, total))
        self.samples.removeAll { now - $0.at > self.window }
    }

    /// The growth per second between the oldest and newest sample in the window; 0 with fewer than two.
    public var bytesPerSecond: Double {
        guard let first = self.samples.first, let last = self.samples.last, last.at > first.at else { return 0 }
        let elapsed = last.at - first.at
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Double(last.total - first.total) / seconds
    }
}
