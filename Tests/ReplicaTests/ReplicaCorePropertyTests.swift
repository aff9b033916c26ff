import Foundation
import ReplicaCore
import TandemTestKit
import Testing

@testable import Replica

/// Random schedules of the pair: crashes, restarts, pauses, lost links, repeated and reordered messages,
/// failed disks and snapshots, with the invariants checked after every step and the pair healed and compared at
/// the end.
///
/// The schedules keep to the failure model of docs/REPLICATION.md: running nodes tick together, and a message
/// to a running node arrives before that node's next tick (a link is either working or broken, and a broken
/// link is reconnected at once), so silence means a dead or paused process, not a partition between two
/// running ones. Appends and acks may be
/// repeated and reordered; hellos, cuts and snapshots keep their place, as on one TCP connection.
@Suite struct ReplicaCorePropertyTests {
    /// 1,000 in CI; `TANDEM_SCHEDULES=20000 swift test --filter ReplicaCorePropertyTests` runs more.
    static let schedules = ProcessInfo.processInfo.environment["TANDEM_SCHEDULES"].flatMap { Int($0) } ?? 1_000
    static let steps = 250

    @Test func noAcknowledgedWriteIsEverLost() {
        for seed in 0..<UInt64(Self.schedules) {
            guard let failure = Self.run(seed: seed) else { continue }
            Issue.record("seed \(seed): \(failure)")
            return
        }
    }

    /// Runs one schedule; nil when every rule held.
    static func run(seed: UInt64) -> String? {
        var random = SeededGenerator(seed: seed)
        // Odd seeds make appends durable at once when a disk has nothing queued, as an idle WAL writer does.
        let pair = PairSimulation(batchBytes: 16, appendsAtOnce: seed % 2 == 1)
        pair.connect()
        for _ in 0..<Self.steps {
            Self.step(pair, &random)
            if let problem = pair.checkInvariants() { return Self.report(problem, pair) }
        }
        return Self.healAndCompare(pair)
    }

    static func step(_ pair: PairSimulation, _ random: inout SeededGenerator) {
        let node = Int.random(in: 0...1, using: &random)
        switch Int.random(in: 0..<100, using: &random) {
        case 0..<20:
            let primary = pair.nodes.firstIndex { $0.core.role == .primary } ?? node
            pair.propose(primary)
        case 20..<35:
            pair.fsync(node)
        case 35..<60:
            let replication = pair.links[node].indices.filter { pair.links[node][$0].isReplication }
            let reorder = Int.random(in: 0..<10, using: &random) == 0 && !replication.isEmpty
            pair.deliver(from: node, at: reorder ? replication.randomElement(using: &random)! : 0)
        case 60..<62:
            let replication = pair.links[node].indices.filter { pair.links[node][$0].isReplication }
            if let position = replication.randomElement(using: &random) { pair.duplicate(from: node, at: position) }
        case 62..<80:
            // Clocks run at one rate: every running node ticks. Bounded delay: whatever is in flight to a
            // running node arrives before its next tick. (A node that does not tick is paused, and knows it.)
            for index in [node, 1 - node] {
                while pair.connected, !pair.links[1 - index].isEmpty, !pair.nodes[index].paused, pair.nodes[index].up {
                    pair.deliver(from: 1 - index)
                }
                pair.tick(index)
            }
        case 80..<82:
            pair.disconnect()
            pair.connect()
        case 82:
            pair.switchover(node)
        case 83..<85:
            pair.crash(node)
            // Half the time the other notices at once that the process is gone (its sync port refuses).
            if Bool.random(using: &random) { pair.peerRefused(1 - node) }
        case 85..<91:
            pair.restart(node)
            pair.connect()
        case 91..<93:
            if !pair.nodes[1 - node].paused { pair.pause(node) }
        case 93..<97:
            pair.resume(node)
        case 97:
            pair.diskFails(node)
        default:
            pair.snapshotAndTrim(node)
        }
    }

    /// Ends every fault, lets the pair settle, and checks that both logs agree and hold every acknowledged
    /// write exactly once.
    static func healAndCompare(_ pair: PairSimulation) -> String? {
        for index in 0..<2 {
            pair.resume(index)
            // A tracker whose disk failed is restarted once the disk is mended.
            if pair.nodes[index].driver.halted { pair.crash(index) }
            pair.restart(index)
        }
        pair.connect()
        for _ in 0..<20 {
            pair.stabilize()
            pair.tick(0)
            pair.tick(1)
        }
        pair.stabilize()
        if let problem = pair.checkInvariants() { return Self.report(problem, pair) }
        guard pair.nodes.contains(where: { $0.core.role == .primary }) else {
            return Self.report("no primary after healing", pair)
        }
        let logs = (0..<2).map { pair.values(inLogOf: $0) }
        guard logs[0] == logs[1] else { return Self.report("logs differ: \(logs[0]) vs \(logs[1])", pair) }
        // Past both snapshots, the entries themselves agree: same epoch at each seq.
        let base = pair.nodes.map(\.snapshot.position.seq).max() ?? 0
        let positions = pair.nodes.map { node in
            node.log.filter { $0.seq > base }.map { LogPosition(epoch: $0.epoch, seq: $0.seq) }
        }
        guard positions[0] == positions[1] else { return Self.report("log positions differ past seq \(base)", pair) }
        guard pair.nodes[0].values == pair.nodes[1].values, pair.nodes[0].values == logs[0] else {
            return Self.report("states differ: \(pair.nodes[0].values) vs \(pair.nodes[1].values)", pair)
        }
        guard Set(logs[0]).count == logs[0].count else { return Self.report("a value is logged twice", pair) }
        let missing = Set(pair.acknowledged.values).subtracting(logs[0])
        guard missing.isEmpty else { return Self.report("acknowledged and lost: \(missing.sorted())", pair) }
        return nil
    }

    static func report(_ problem: String, _ pair: PairSimulation) -> String {
        "\(problem)\n" + pair.transcript.suffix(80).joined(separator: "\n")
    }
}
