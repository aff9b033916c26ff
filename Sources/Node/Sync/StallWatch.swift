import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Tells a stopped process (SIGSTOP, or starved of CPU) from a busy one. A thread of its own wakes every
/// `interval` and notes the longest gap between its wake-ups; it takes no lock the replica holds, so a tick
/// that waited long for the replica's lock (a large state being copied, say) is not taken for a stall.
final class StallWatch: Sendable {
    private struct Gaps {
        var lastWake = NIODeadline.now()
        var longest = TimeAmount.zero
    }

    private let gaps = NIOLockedValueBox(Gaps())
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let task: RepeatedTask

    init(interval: TimeAmount) {
        let gaps = self.gaps
        self.task = self.group.next().scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            let now = NIODeadline.now()
            gaps.withLockedValue { gaps in
                gaps.longest = max(gaps.longest, now - gaps.lastWake)
                gaps.lastWake = now
            }
        }
    }

    /// The longest time the process did not run since the last call, up to now (a pause that has just ended
    /// counts before the watch has woken from it), and starts over.
    func takeLongestGap() -> TimeAmount {
        let now = NIODeadline.now()
        return self.gaps.withLockedValue { gaps in
            defer { gaps.longest = .zero }
            return max(gaps.longest, now - gaps.lastWake)
        }
    }

    func stop() async {
        self.task.cancel()
        try? await self.group.shutdownGracefully()
    }
}
