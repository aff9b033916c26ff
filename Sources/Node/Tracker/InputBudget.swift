import NIOConcurrencyHelpers
import NIOCore

/// The bytes of client input that all of a tracker's connections together may hold beyond each one's allowance
/// (`limits.max_buffered_input`): unfinished frames and requests waiting to be served.
///
/// A connection reserves before it reads past its allowance and gives back what it no longer holds. One that
/// cannot reserve stops reading and is called back, on its event loop, when bytes are given back, so a flood
/// of large frames waits instead of growing the tracker.
final class InputBudget: Sendable {
    private struct Ledger {
        var used = 0
        var waiting: [(loop: any EventLoop, resume: @Sendable () -> Void)] = []
    }

    /// The budget's size in bytes.
    let total: Int
    private let ledger = NIOLockedValueBox(Ledger())

    init(total: Int) {
        self.total = total
    }

    /// Bytes reserved now, for metrics and tests.
    var used: Int { self.ledger.withLockedValue { $0.used } }

    /// Reserves `bytes` if there is room; otherwise registers `resume` to run on `loop` once bytes are given back
    /// (it should try again) and returns false.
    func reserve(_ bytes: Int, orWaitOn loop: any EventLoop, _ resume: @escaping @Sendable () -> Void) -> Bool {
        self.ledger.withLockedValue { ledger in
            guard ledger.used + bytes <= self.total else {
                ledger.waiting.append((loop, resume))
                return false
            }
            ledger.used += bytes
            return true
        }
    }

    /// Gives back `bytes`, and calls back every connection that waits for room.
    func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        let waiting = self.ledger.withLockedValue { ledger in
            ledger.used -= bytes
            defer { ledger.waiting.removeAll() }
            return ledger.waiting
        }
        for waiter in waiting { waiter.loop.execute(waiter.resume) }
    }
}
