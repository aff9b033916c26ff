import Foundation
import ReplicaCore

/// The applied state and the replica's status, as readers on any thread see them. The driver applies ops to
/// the state in place, under the lock (a copy would copy the whole state at the next write), and publishes
/// the status after each input.
public final class AppliedState<Machine: StateMachine>: @unchecked Sendable {
    private let lock = NSLock()
    private var machine: Machine
    private var seq: UInt64 = 0
    private var latestStatus: ReplicaStatus?

    /// Holds `machine` until the driver starts.
    public init(_ machine: Machine) {
        self.machine = machine
    }

    /// Changes the state and the seq it is applied through, under the lock.
    func mutate<Result>(_ body: (inout Machine, inout UInt64) throws -> Result) rethrows -> Result {
        self.lock.lock()
        defer { self.lock.unlock() }
        return try body(&self.machine, &self.seq)
    }

    /// Replaces the state (recovered, rebuilt or installed from a snapshot).
    func replace(_ machine: Machine, seq: UInt64) {
        self.mutate { current, appliedSeq in
            current = machine
            appliedSeq = seq
        }
    }

    func publish(_ status: ReplicaStatus) {
        self.lock.withLock { self.latestStatus = status }
    }

    /// Runs `body` on the applied state, under the lock: keep it short.
    public func read<Result>(_ body: (Machine) throws -> Result) rethrows -> Result {
        self.lock.lock()
        defer { self.lock.unlock() }
        return try body(self.machine)
    }

    /// The seq of the last op applied.
    public var lastSeq: UInt64 { self.lock.withLock { self.seq } }

    /// The status as last published.
    public var status: ReplicaStatus { self.lock.withLock { self.latestStatus! } }
}
