import NIOCore
import Replica
import ReplicaCore
import Testing

/// Two ``ReplicaCore``s in memory, with disks that lose what was not fsynced, a link that can lose, repeat or
/// reorder messages, and clients whose acknowledged writes are recorded: the harness of the replication tests
/// (raft's InteractionEnv, in the spirit of ../shared/STYLE.md section 4).
struct PairSimulation {
    /// What travels on the link: sync messages, and a snapshot standing for the FULLSYNC stream.
    enum Packet: Hashable {
        case sync(SyncMessage)
        case snapshot(SimSnapshot)

        /// An append or an ack: what the schedules may repeat or reorder.
        var isReplication: Bool {
            switch self {
            case .sync(.append), .sync(.ack): true
            default: false
            }
        }
    }

    /// A node's state machine: the values applied, in order (epoch markers apply nothing).
    struct SimSnapshot: Hashable {
        var position: LogPosition
        var values: [String]
        /// The epoch of the primary that sent it, when it is on the link.
        var senderEpoch: UInt64 = 0
    }

    /// One tracker: its core, its disk, its applied state.
    struct Node {
        let index: Int
        var core: ReplicaCore
        /// Durable records.
        var disk: [LogRecord] = []
        /// Records handed to the disk and not yet fsynced: lost in a crash.
        var buffered: [LogRecord] = []
        /// What truncation cut, kept aside.
        var cutAside: [LogRecord] = []
        /// The newest snapshot; the disk holds only what follows it.
        var snapshot = SimSnapshot(position: .start, values: [])
        /// The applied state.
        var values: [String] = []
        var appliedSeq: UInt64 = 0
        /// The highest epoch made durable (``ReplicaReady/persistEpoch``).
        var durableEpoch: UInt64 = 0
        var up = true
        var paused = false
        /// Paused since its last tick: its next tick reports a stall.
        var stalled = false

        /// The whole local log, durable or not.
        var log: [LogRecord] { self.disk + self.buffered }

        /// The record at `seq`, if the log holds it.
        func record(at seq: UInt64) -> LogRecord? {
            self.log.first { $0.seq == seq }
        }
    }

    /// Reads a node's disk for catch-up.
    struct DiskReader: ReplicaLogReader {
        let disk: [LogRecord]
        let firstSeq: UInt64

        func records(from seq: UInt64, maxBytes: Int) -> [LogRecord] {
            var bytes = 0
            var records: [LogRecord] = []
            for record in self.disk where record.seq >= seq {
                if !records.isEmpty && bytes + record.payload.readableBytes > maxBytes { break }
                bytes += record.payload.readableBytes
                records.append(record)
            }
            return records
        }
    }

    static let configuration = (heartbeatTicks: 1, failoverTicks: 5)

    var nodes: [Node]
    /// Packets in flight: `links[0]` from node 0 to node 1, `links[1]` the other way.
    var links: [[Packet]] = [[], []]
    var connected = false
    /// Writes whose proposer was answered: value by position.
    var acknowledged: [LogPosition: String] = [:]
    /// Proposals waiting for an answer, by node: value by position.
    var proposed: [[LogPosition: String]] = [[:], [:]]
    var nextValue = 0
    /// What happened lately, one line per step, for failure messages.
    var transcript: [String] = [] {
        didSet { if self.transcript.count > 400 { self.transcript.removeFirst(200) } }
    }
    /// Broken rules noticed while carrying out a step.
    var violations: [String] = []

    init(batchBytes: Int = 1 << 20) {
        self.nodes = (0..<2).map { index in
            Node(
                index: index,
                core: ReplicaCore(
                    configuration: Self.coreConfiguration(index, batchBytes: batchBytes), history: EpochHistory(),
                    last: .start))
        }
        self.batchBytes = batchBytes
    }

    let batchBytes: Int

    static func coreConfiguration(_ index: Int, batchBytes: Int) -> ReplicaCore.Configuration {
        ReplicaCore.Configuration(
            index: index, heartbeatTicks: Self.configuration.heartbeatTicks,
            failoverTicks: Self.configuration.failoverTicks, catchUpBatchBytes: batchBytes)
    }

    // MARK: Steps

    /// Opens the link (both up): each side says hello.
    mutating func connect() {
        guard !self.connected, self.nodes.allSatisfy(\.up) else { return }
        self.connected = true
        self.links = [[], []]
        for index in 0..<2 {
            let hello = self.nodes[index].core.helloForNewConnection()
            self.links[index].append(.sync(hello))
        }
        self.transcript.append("connect")
    }

    /// Breaks the link: what was in flight is lost.
    mutating func disconnect() {
        self.connected = false
        self.links = [[], []]
        self.transcript.append("disconnect")
    }

    mutating func tick(_ index: Int) {
        guard self.nodes[index].up, !self.nodes[index].paused else { return }
        let ready = self.nodes[index].core.tick(stalled: self.nodes[index].stalled)
        self.nodes[index].stalled = false
        self.carryOut(ready, on: index, cause: "tick \(index)")
    }

    /// Delivers the packet at `position` in the link from `from` (0 is the oldest; others reorder).
    mutating func deliver(from: Int, at position: Int = 0) {
        let to = 1 - from
        guard self.connected, self.links[from].indices.contains(position), self.nodes[to].up,
            !self.nodes[to].paused
        else { return }
        let packet = self.links[from].remove(at: position)
        switch packet {
        case .sync(let message):
            let reader = self.reader(to)
            let ready = self.nodes[to].core.receive(message, log: reader)
            self.carryOut(ready, on: to, cause: "\(to) <- \(Self.describe(message))")
        case .snapshot(var snapshot):
            // The stream is taken only from the primary whose snapshot-follows the core accepted.
            guard self.nodes[to].core.acceptsSnapshot(from: snapshot.senderEpoch, at: snapshot.position) else {
                self.transcript.append("\(to) refuses a snapshot from epoch \(snapshot.senderEpoch)")
                return
            }
            snapshot.senderEpoch = 0
            var node = self.nodes[to]
            node.cutAside += node.log
            node.disk = []
            node.buffered = []
            node.snapshot = snapshot
            node.values = snapshot.values
            node.appliedSeq = snapshot.position.seq
            self.nodes[to] = node
            let ready = self.nodes[to].core.snapshotInstalled(at: snapshot.position)
            self.carryOut(ready, on: to, cause: "\(to) <- snapshot at \(snapshot.position)")
        }
    }

    /// Delivers a copy of a packet in flight, leaving the original in place.
    mutating func duplicate(from: Int, at position: Int) {
        guard self.links[from].indices.contains(position) else { return }
        self.links[from].insert(self.links[from][position], at: position)
    }

    /// Drops a packet in flight.
    mutating func drop(from: Int, at position: Int) {
        guard self.links[from].indices.contains(position) else { return }
        self.links[from].remove(at: position)
        self.transcript.append("drop from \(from)")
    }

    /// The disk completes its writes: what was buffered is durable.
    mutating func fsync(_ index: Int) {
        guard self.nodes[index].up, !self.nodes[index].paused, let last = self.nodes[index].buffered.last else {
            return
        }
        self.nodes[index].disk += self.nodes[index].buffered
        self.nodes[index].buffered = []
        let ready = self.nodes[index].core.persisted(through: LogPosition(epoch: last.epoch, seq: last.seq))
        self.carryOut(ready, on: index, cause: "fsync \(index) through \(last.seq)")
    }

    /// A client writes a new value through node `index`; false when it is not the primary.
    @discardableResult
    mutating func propose(_ index: Int) -> Bool {
        guard self.nodes[index].up, !self.nodes[index].paused else { return false }
        let value = "v\(self.nextValue)"
        guard let (records, ready) = self.nodes[index].core.propose([ByteBuffer(string: value)]) else { return false }
        self.nextValue += 1
        for record in records {
            self.proposed[index][LogPosition(epoch: record.epoch, seq: record.seq)] = value
        }
        self.carryOut(ready, on: index, cause: "propose \(value) at \(index)")
        return true
    }

    /// The process dies: unsynced writes, proposals and the link are lost.
    mutating func crash(_ index: Int) {
        guard self.nodes[index].up else { return }
        self.nodes[index].up = false
        self.nodes[index].paused = false
        self.nodes[index].buffered = []
        self.proposed[index] = [:]
        self.disconnect()
        self.transcript.append("crash \(index)")
    }

    /// Node `index` finds the other's sync port refusing connections (the other process is down; a paused or
    /// cut-off process does not refuse) and ticks, as the shell tells the core with its next tick.
    mutating func peerRefused(_ index: Int) {
        guard self.nodes[index].up, !self.nodes[index].paused, !self.nodes[1 - index].up, !self.connected else {
            return
        }
        let ready = self.nodes[index].core.tick(stalled: self.nodes[index].stalled, peerGone: true)
        self.nodes[index].stalled = false
        self.carryOut(ready, on: index, cause: "peer refused, tick \(index)")
    }

    /// The process starts again from its disk, applying everything there, as recovery does.
    mutating func restart(_ index: Int) {
        guard !self.nodes[index].up else { return }
        var node = self.nodes[index]
        var history = EpochHistory()
        if node.snapshot.position.seq > 0 {
            history.note(epoch: node.snapshot.position.epoch, seq: node.snapshot.position.seq)
        }
        for record in node.disk { history.note(epoch: record.epoch, seq: record.seq) }
        let last = node.disk.last.map { LogPosition(epoch: $0.epoch, seq: $0.seq) } ?? node.snapshot.position
        node.core = ReplicaCore(
            configuration: Self.coreConfiguration(index, batchBytes: self.batchBytes), history: history, last: last,
            epoch: node.durableEpoch)
        node.values = node.snapshot.values + node.disk.compactMap(Self.value)
        node.appliedSeq = last.seq
        node.up = true
        self.nodes[index] = node
        self.transcript.append("restart \(index)")
    }

    mutating func pause(_ index: Int) {
        self.nodes[index].paused = true
        self.nodes[index].stalled = true
        self.transcript.append("pause \(index)")
    }

    mutating func resume(_ index: Int) {
        self.nodes[index].paused = false
        self.transcript.append("resume \(index)")
    }

    /// Node `index` snapshots its applied state and trims its durable log behind it.
    mutating func snapshotAndTrim(_ index: Int) {
        var node = self.nodes[index]
        let seq = min(node.appliedSeq, node.disk.last?.seq ?? 0)
        guard node.up, seq > node.snapshot.position.seq, let record = node.record(at: seq) else { return }
        let values = node.snapshot.values + node.disk.filter { $0.seq <= seq }.compactMap(Self.value)
        node.snapshot = SimSnapshot(position: LogPosition(epoch: record.epoch, seq: seq), values: values)
        node.disk.removeAll { $0.seq <= seq }
        self.nodes[index] = node
        self.transcript.append("snapshot \(index) at \(seq)")
    }

    /// An operator forces node `index` to be primary.
    mutating func forcePromote(_ index: Int) {
        let ready = self.nodes[index].core.forcePromote()
        self.carryOut(ready, on: index, cause: "force \(index)")
    }

    // MARK: Carrying out a Ready

    mutating func carryOut(_ ready: ReplicaReady, on index: Int, cause: String) {
        self.transcript.append(cause + (ready.isEmpty ? "" : " => \(Self.describe(ready))"))
        var node = self.nodes[index]
        if let epoch = ready.persistEpoch { node.durableEpoch = epoch }
        if let seq = ready.truncateAfter {
            if seq < node.snapshot.position.seq { node.snapshot = SimSnapshot(position: .start, values: []) }
            node.cutAside += node.log.filter { $0.seq > seq }
            node.disk.removeAll { $0.seq > seq }
            node.buffered.removeAll { $0.seq > seq }
        }
        node.buffered += ready.persist
        if ready.rebuildState {
            let seq = node.core.appliedSeq
            node.values = node.snapshot.values + node.disk.filter { $0.seq <= seq }.compactMap(Self.value)
            node.appliedSeq = seq
        }
        if let through = ready.applyThrough, through > node.appliedSeq {
            let records = node.log.filter { $0.seq > node.appliedSeq && $0.seq <= through }
            if records.count != Int(through - node.appliedSeq) {
                self.violations.append("node \(index) applies through \(through), past its log")
            }
            node.values += records.compactMap(Self.value)
            node.appliedSeq = through
            if node.core.role == .primary {
                for record in records {
                    let position = LogPosition(epoch: record.epoch, seq: record.seq)
                    if let value = self.proposed[index].removeValue(forKey: position) {
                        self.acknowledged[position] = value
                    }
                }
            }
        }
        if let after = ready.abandonAfter {
            self.proposed[index] = self.proposed[index].filter { $0.key.seq <= after }
        }
        self.nodes[index] = node
        if self.connected { self.links[index] += ready.messages.map(Packet.sync) }
        if ready.sendSnapshot, self.connected {
            self.links[index].append(.sync(.snapshotFollows(epoch: node.core.epoch, position: node.snapshot.position)))
            var stream = node.snapshot
            stream.senderEpoch = node.core.epoch
            self.links[index].append(.snapshot(stream))
        }
        if ready.sendSnapshot {
            let reader = self.reader(index)
            let next = self.nodes[index].core.snapshotSent(at: node.snapshot.position, log: reader)
            self.carryOut(next, on: index, cause: "snapshot sent by \(index)")
        }
    }

    func reader(_ index: Int) -> DiskReader {
        let node = self.nodes[index]
        return DiskReader(disk: node.disk, firstSeq: node.disk.first?.seq ?? (node.snapshot.position.seq + 1))
    }

    static func value(_ record: LogRecord) -> String? {
        record.payload.readableBytes == 0 ? nil : String(buffer: record.payload)
    }

    /// Delivers every packet and completes every write, in order, until nothing moves (no ticks: nobody
    /// times out).
    mutating func stabilize() {
        for _ in 0..<10_000 {
            let deliverable = (0..<2).contains { from in
                self.connected && !self.links[from].isEmpty && self.nodes[1 - from].up && !self.nodes[1 - from].paused
            }
            let moving = deliverable || self.nodes.contains { $0.up && !$0.paused && !$0.buffered.isEmpty }
            guard moving else { return }
            for index in 0..<2 {
                self.fsync(index)
                if !self.links[index].isEmpty { self.deliver(from: index) }
            }
            if !self.connected { self.links = [[], []] }
        }
        self.violations.append("the pair did not settle")
    }

    /// Ticks node `index` `count` times.
    mutating func tick(_ index: Int, times count: Int) {
        for _ in 0..<count { self.tick(index) }
    }

    /// Values in a node's log, markers left out.
    func values(inLogOf index: Int) -> [String] {
        self.nodes[index].snapshot.values + self.nodes[index].log.compactMap(Self.value)
    }

    // MARK: Invariants

    /// What must hold after every step: the newest primary holds every acknowledged write where it was
    /// acknowledged; each node's state is its log's values up to what it applied.
    func checkInvariants() -> String? {
        if let violation = self.violations.first { return violation }
        // A paused primary acknowledges nothing, and steps down at its first tick after it resumes; until then
        // it can commit only what its backup acknowledged before taking over, which the new primary holds.
        let primaries = self.nodes.filter { $0.up && !$0.stalled && $0.core.role == .primary }
        if let newest = primaries.max(by: { $0.core.epoch < $1.core.epoch }) {
            for (position, value) in self.acknowledged {
                // What the snapshot covers is only in its values; what follows must be in the log, in place.
                if position.seq <= newest.snapshot.position.seq {
                    guard newest.snapshot.values.contains(value) else {
                        return "primary \(newest.index)'s snapshot lacks acknowledged \(value)"
                    }
                    continue
                }
                guard let record = newest.record(at: position.seq), record.epoch == position.epoch,
                    Self.value(record) == value
                else { return "primary \(newest.index) lacks acknowledged \(value) at \(position)" }
            }
        }
        for node in self.nodes where node.up {
            let expected =
                node.snapshot.values
                + node.log.filter { $0.seq <= node.appliedSeq && $0.seq > node.snapshot.position.seq }
                .compactMap(Self.value)
            if node.values != expected { return "node \(node.index) applied \(node.values), its log says \(expected)" }
        }
        return nil
    }

    static func describe(_ message: SyncMessage) -> String {
        switch message {
        case .hello(let hello): "hello(\(hello.role) e\(hello.epoch) at \(hello.position))"
        case .append(let append):
            "append(e\(append.epoch) after \(append.previous) \(append.records.map(\.seq)) commit \(append.commitSeq)"
                + "\(append.backupInSync ? " in-sync" : ""))"
        case .ack(let epoch, let position, _, let number): "ack(e\(epoch) \(position) #\(number))"
        case .mismatch(let epoch, let position, let start): "mismatch(e\(epoch) \(position) from \(start))"
        case .truncate(let epoch, let seq): "truncate(e\(epoch) after \(seq))"
        case .snapshotFollows(let epoch, let position): "snapshot-follows(e\(epoch) \(position))"
        case .requestVote(let candidate): "request-vote(e\(candidate.epoch) at \(candidate.position))"
        case .vote(let granted, let voter): "vote(\(granted ? "yes" : "no") e\(voter.epoch) at \(voter.position))"
        }
    }

    static func describe(_ ready: ReplicaReady) -> String {
        var parts: [String] = []
        if let epoch = ready.persistEpoch { parts.append("epoch \(epoch) durable") }
        if let seq = ready.truncateAfter { parts.append("cut after \(seq)") }
        if !ready.persist.isEmpty { parts.append("persist \(ready.persist.map(\.seq))") }
        if !ready.messages.isEmpty { parts.append("send " + ready.messages.map(Self.describe).joined(separator: ", ")) }
        if let seq = ready.applyThrough { parts.append("apply through \(seq)") }
        if ready.rebuildState { parts.append("rebuild") }
        if ready.sendSnapshot { parts.append("send snapshot") }
        if let seq = ready.abandonAfter { parts.append("abandon after \(seq)") }
        if let role = ready.newRole { parts.append("now \(role)") }
        return parts.joined(separator: "; ")
    }
}
