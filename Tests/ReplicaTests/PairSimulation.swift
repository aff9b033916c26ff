import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import ReplicaCore

@testable import Replica

/// Two trackers in memory, each the production ``ReplicaDriver`` on its own ``EmbeddedEventLoop`` over a
/// ``MemoryStorage`` whose writes complete only when a step says so (and are lost in a crash), joined by a link
/// that can lose, repeat or reorder messages; the clients' acknowledged writes are recorded. The harness of the
/// replication tests (raft's InteractionEnv, in the spirit of ../shared/STYLE.md section 4): every step is an
/// input to a real driver, and the transcript says what the drivers did.
final class PairSimulation {
    /// What travels on the link: sync messages, forwarded writes, and a snapshot file (FULLSYNC).
    enum Packet {
        case sync(SyncMessage)
        case forward(ForwardFrame)
        case snapshot(ByteBuffer)

        /// An append or an ack: what the schedules may repeat or reorder.
        var isReplication: Bool {
            switch self {
            case .sync(.append), .sync(.ack): true
            default: false
            }
        }
    }

    /// One tracker: a driver over a memory disk, and whether its process runs.
    final class Node {
        let index: Int
        let memory: MemoryStorage<ValueLog>
        /// The process: its driver, the loop it runs on, and the state it applied.
        var process: Running
        var link: SimLink?
        var up = true
        var paused = false
        /// Paused since its last tick: its next tick reports a stall.
        var stalled = false

        init(index: Int, memory: MemoryStorage<ValueLog>, process: Running) {
            self.index = index
            self.memory = memory
            self.process = process
        }

        var driver: ReplicaDriver<ValueLog> { self.process.driver }
        var loop: EmbeddedEventLoop { self.process.loop }
        var applied: AppliedState<ValueLog> { self.process.applied }

        var core: ReplicaCore { self.driver.core }
        /// The applied state.
        var values: [String] { self.applied.read(\.values) }
        var appliedSeq: UInt64 { self.applied.lastSeq }
        /// The newest snapshot, once the queued disk work is done.
        var snapshot: (position: LogPosition, values: [String]) {
            guard let snapshot = self.memory.contentsAfterQueue.snapshot else { return (.start, []) }
            return (snapshot.position, snapshot.machine.values)
        }
        /// The log after the snapshot, once the queued disk work is done: what the driver handed the disk.
        var log: [LogRecord] {
            let contents = self.memory.contentsAfterQueue
            let after = contents.snapshot?.position.seq ?? 0
            return contents.records.filter { $0.seq > after }
        }
        /// What cuts moved aside.
        var cutAside: [LogRecord] { self.memory.contents.cutAside }
    }

    /// What a node's process holds in memory.
    struct Running {
        var driver: ReplicaDriver<ValueLog>
        var loop: EmbeddedEventLoop
        var applied: AppliedState<ValueLog>
    }

    static let configuration = (heartbeatTicks: 1, failoverTicks: 5)

    let batchBytes: Int
    let logger = Logger(label: "simulation", factory: { _ in SwiftLogNoOpLogHandler() })
    var nodes: [Node] = []
    /// Packets in flight: `links[0]` from node 0 to node 1, `links[1]` the other way.
    var links: [[Packet]] = [[], []]
    var connected = false
    /// Goes up with each connection: a link of an older one carries nothing.
    var connection = 0
    /// A driver closed the connection: it breaks once the step is over.
    var closeRequested = false
    /// Writes whose proposer was answered: value by position.
    var acknowledged: [LogPosition: String] = [:]
    /// Proposers' outcomes, as the drivers report them, not yet looked at.
    let answers = NIOLockedValueBox<[(node: Int, value: String, result: Result<Int, ReplicaError>)]>([])
    var nextValue = 0
    /// What happened: each step, then indented, what the drivers did.
    var transcript: [String] = []
    /// Broken rules noticed while carrying out a step.
    var violations: [String] = []

    /// With `appendsAtOnce`, a batch of appends made while a node's disk has nothing queued is durable at once,
    /// as on an idle WAL writer (``MemoryStorage/appendNow(_:generation:)``).
    init(batchBytes: Int = 1 << 20, appendsAtOnce: Bool = false) {
        self.batchBytes = batchBytes
        for index in 0..<2 {
            let memory = MemoryStorage(initial: ValueLog(), appendsAtOnce: appendsAtOnce)
            let node = Node(index: index, memory: memory, process: self.startProcess(index, memory: memory))
            self.nodes.append(node)
        }
    }

    static func coreConfiguration(_ index: Int, batchBytes: Int) -> ReplicaCore.Configuration {
        ReplicaCore.Configuration(
            index: index, heartbeatTicks: Self.configuration.heartbeatTicks,
            failoverTicks: Self.configuration.failoverTicks, catchUpBatchBytes: batchBytes)
    }

    /// A process starting from what `memory` holds: a driver on a fresh loop, whose storage's reports reach it
    /// through that loop, as in ``ReplicatedStateMachine``.
    private func startProcess(_ index: Int, memory: MemoryStorage<ValueLog>) -> Running {
        let loop = EmbeddedEventLoop()
        let applied = AppliedState(ValueLog())
        let driver = ReplicaDriver(
            storage: SimDisk(memory: memory, pair: self, index: index), recovered: memory.recovered,
            epoch: memory.contents.epoch, configuration: Self.coreConfiguration(index, batchBytes: self.batchBytes),
            applied: applied, eventLoop: loop, logger: self.logger)
        let bound = NIOLoopBound(driver, eventLoop: loop)
        memory.start { event in loop.execute { bound.value.handle(event) } }
        return Running(driver: driver, loop: loop, applied: applied)
    }

    // MARK: Steps

    /// Opens the link (both up): each side says hello.
    func connect() {
        guard !self.connected, self.nodes.allSatisfy(\.up) else { return }
        self.transcript.append("connect")
        self.connected = true
        self.connection += 1
        self.links = [[], []]
        for node in self.nodes {
            let link = SimLink(pair: self, from: node.index, connection: self.connection)
            node.link = link
            self.step(node.index) { $0.connected(link) }
        }
    }

    /// Breaks the link: what was in flight is lost.
    func disconnect() {
        self.transcript.append("disconnect")
        self.connected = false
        self.links = [[], []]
        for node in self.nodes {
            guard let link = node.link else { continue }
            node.link = nil
            if node.up { self.step(node.index) { $0.disconnected(link) } }
        }
    }

    func tick(_ index: Int) {
        let node = self.nodes[index]
        guard node.up, !node.paused else { return }
        self.transcript.append("tick \(index)")
        let stalled = node.stalled
        node.stalled = false
        self.step(index) { $0.tick(stalled: stalled) }
    }

    /// Ticks node `index` `count` times.
    func tick(_ index: Int, times count: Int) {
        for _ in 0..<count { self.tick(index) }
    }

    /// Delivers the packet at `position` in the link from `from` (0 is the oldest; others reorder).
    func deliver(from: Int, at position: Int = 0) {
        let to = 1 - from
        guard self.connected, self.links[from].indices.contains(position), self.nodes[to].up, !self.nodes[to].paused
        else { return }
        let packet = self.links[from].remove(at: position)
        self.transcript.append("\(to) <- \(Self.describe(packet))")
        self.step(to) { driver in
            switch packet {
            case .sync(let message): driver.receive(message)
            case .forward(let frame): driver.receiveForwarded(frame)
            case .snapshot(let bytes):
                driver.receiveSnapshotBytes(bytes)
                driver.receiveSnapshotEnd()
            }
        }
    }

    /// Delivers a copy of a packet in flight, leaving the original in place.
    func duplicate(from: Int, at position: Int) {
        guard self.links[from].indices.contains(position) else { return }
        self.links[from].insert(self.links[from][position], at: position)
    }

    /// Drops a packet in flight.
    func drop(from: Int, at position: Int) {
        guard self.links[from].indices.contains(position) else { return }
        self.links[from].remove(at: position)
        self.transcript.append("drop from \(from)")
    }

    /// The disk completes the work queued so far (its writes and `fdatasync`s return).
    func fsync(_ index: Int) {
        let node = self.nodes[index]
        guard node.up, !node.paused, node.memory.hasQueuedWork else { return }
        self.transcript.append("fsync \(index)")
        self.step(index) { _ in
            for event in node.memory.flush() { self.transcript.append("  \(index) disk: \(Self.describe(event))") }
        }
    }

    /// A client writes a new value through node `index`; false when it is not the primary.
    @discardableResult
    func propose(_ index: Int) -> Bool {
        let node = self.nodes[index]
        guard node.up, !node.paused, node.core.role == .primary else { return false }
        let value = "v\(self.nextValue)"
        self.nextValue += 1
        self.transcript.append("propose \(value) at \(index)")
        let answers = self.answers
        self.step(index) { driver in
            let promise = driver.eventLoop.makePromise(of: Int.self)
            promise.futureResult.whenComplete { result in
                answers.withLockedValue {
                    $0.append((index, value, result.mapError { $0 as? ReplicaError ?? .closed }))
                }
            }
            driver.propose(value, payload: ByteBuffer(string: value), completion: .promise(promise))
        }
        return true
    }

    /// The process dies: its queued disk work, its proposals and the link are lost.
    func crash(_ index: Int) {
        let node = self.nodes[index]
        guard node.up else { return }
        self.transcript.append("crash \(index)")
        node.up = false
        node.paused = false
        node.memory.crash()
        if self.connected { self.disconnect() }
    }

    /// Node `index` finds the other's sync port refusing connections (the other process is down; a paused or
    /// cut-off process does not refuse) and ticks, as the shell tells the core with its next tick.
    func peerRefused(_ index: Int) {
        let node = self.nodes[index]
        guard node.up, !node.paused, !self.nodes[1 - index].up, !self.connected else { return }
        self.transcript.append("peer refused, tick \(index)")
        let stalled = node.stalled
        node.stalled = false
        self.step(index) { driver in
            driver.peerRefusedConnection()
            driver.tick(stalled: stalled)
        }
    }

    /// The process starts again from what its disk holds.
    func restart(_ index: Int) {
        let node = self.nodes[index]
        guard !node.up else { return }
        self.transcript.append("restart \(index)")
        node.process = self.startProcess(index, memory: node.memory)
        node.up = true
        self.note(index, from: nil)
    }

    func pause(_ index: Int) {
        self.nodes[index].paused = true
        self.nodes[index].stalled = true
        self.transcript.append("pause \(index)")
    }

    func resume(_ index: Int) {
        self.nodes[index].paused = false
        self.transcript.append("resume \(index)")
    }

    /// Node `index`'s disk fails: its storage stops, and the driver leaves the pair until a restart.
    func diskFails(_ index: Int) {
        let node = self.nodes[index]
        guard node.up, !node.paused else { return }
        self.transcript.append("disk fails at \(index)")
        self.step(index) { _ in node.memory.stop(.io("write", path: "memory", errno: 5)) }
    }

    /// Node `index`'s storage finds a snapshot due; the snapshot the driver asks for is written at once, with
    /// the work queued before it.
    func snapshotAndTrim(_ index: Int) {
        let node = self.nodes[index]
        guard node.up, !node.paused else { return }
        self.transcript.append("snapshot \(index)")
        self.step(index) { _ in node.memory.requestSnapshot() }
        self.fsync(index)
    }

    /// An operator forces node `index` to be primary.
    func forcePromote(_ index: Int) {
        guard self.nodes[index].up else { return }
        self.transcript.append("force \(index)")
        self.step(index) { $0.forcePromote() }
    }

    /// An operator asks node `index` to hand its primary role over (a switchover); whether it began.
    @discardableResult
    func switchover(_ index: Int) -> Bool {
        guard self.nodes[index].up, !self.nodes[index].paused else { return false }
        self.transcript.append("switchover \(index)")
        var began = false
        self.step(index) { driver in began = (try? driver.switchover()) != nil }
        if !began { self.transcript.append("  refused") }
        return began
    }

    /// Delivers every packet and completes every write, in order, until nothing moves (no ticks: nobody
    /// times out).
    func stabilize() {
        for _ in 0..<10_000 {
            let deliverable = (0..<2).contains { from in
                self.connected && !self.links[from].isEmpty && self.nodes[1 - from].up && !self.nodes[1 - from].paused
            }
            let moving = deliverable || self.nodes.contains { $0.up && !$0.paused && $0.memory.hasQueuedWork }
            guard moving else { return }
            for index in 0..<2 {
                self.fsync(index)
                if !self.links[index].isEmpty { self.deliver(from: index) }
            }
        }
        self.violations.append("the pair did not settle")
    }

    /// Values in a node's log, markers left out.
    func values(inLogOf index: Int) -> [String] {
        self.nodes[index].snapshot.values + self.nodes[index].log.compactMap(Self.value)
    }

    static func value(_ record: LogRecord) -> String? {
        record.payload.readableBytes == 0 ? nil : String(buffer: record.payload)
    }

    // MARK: Carrying out an input

    /// Gives node `index`'s driver one input, runs what it queued on its loop (the storage's reports, a sent
    /// snapshot), and notes what changed.
    private func step(_ index: Int, _ input: (ReplicaDriver<ValueLog>) -> Void) {
        let node = self.nodes[index]
        let before = node.driver.status
        input(node.driver)
        node.loop.run()
        self.note(index, from: before)
        if self.closeRequested {
            self.closeRequested = false
            if self.connected { self.disconnect() }
        }
    }

    /// Records the outcomes of proposals and what changed in node `index`'s status.
    private func note(_ index: Int, from before: ReplicaStatus?) {
        let node = self.nodes[index]
        let after = node.driver.status
        if before?.role != after.role || before?.epoch != after.epoch {
            self.transcript.append("  \(index) is \(after.role) in epoch \(after.epoch)")
        }
        if before?.appliedSeq != after.appliedSeq {
            self.transcript.append("  \(index) applied through \(after.appliedSeq)")
        }
        for answer in self.answers.withLockedValue({ answers in
            defer { answers = [] }; return answers
        }) {
            switch answer.result {
            case .success:
                self.transcript.append("  \(answer.node) answers \(answer.value): done")
                let record = self.nodes[answer.node].log.last { Self.value($0) == answer.value }
                guard let record else {
                    self.violations.append("node \(answer.node) acknowledged \(answer.value), which its log lacks")
                    continue
                }
                self.acknowledged[LogPosition(epoch: record.epoch, seq: record.seq)] = answer.value
            case .failure(let error):
                self.transcript.append("  \(answer.node) answers \(answer.value): \(error)")
            }
        }
    }

    /// A packet sent by node `from` on connection `connection`; dropped when that connection is gone.
    func carry(_ packets: [Packet], from: Int, connection: Int) {
        guard self.connected, connection == self.connection else { return }
        for packet in packets { self.transcript.append("  \(from) -> \(Self.describe(packet))") }
        self.links[from] += packets
    }

    /// Disk work node `index`'s driver submitted.
    func submitted(_ work: [StorageWork<ValueLog>], by index: Int) {
        for item in work { self.transcript.append("  \(index) disk <- \(Self.describe(item))") }
    }
}
