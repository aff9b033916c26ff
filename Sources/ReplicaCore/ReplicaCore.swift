import NIOCore

/// The replication logic of one tracker of the pair, without sockets, disks or clocks.
///
/// Inputs are ticks, messages from the peer, proposals and reports from the shell (records persisted, snapshot
/// sent or installed). Each returns a ``ReplicaReady`` saying what to cut, persist, send and apply. Time is
/// counted in ticks, and only while the process runs: a node that was paused (SIGSTOP) does not count the
/// pause as the peer's silence, so it cannot mistake its own stop for the peer's death.
///
/// The rules (docs/REPLICATION.md):
/// - The primary gives each proposal the next (epoch, seq). An entry commits, and its proposer is answered,
///   once it is durable here and, while the backup is in sync, acknowledged by the backup. The primary applies
///   only committed entries; the backup applies what it has made durable and matched, before it acknowledges.
/// - A backup is in sync from the moment catch-up has sent it everything: commits then wait for its acks. A
///   backup silent for `failoverTicks` drops out of sync, and the primary then commits alone.
/// - A backup promotes itself when the primary is silent for `failoverTicks`, but only if the primary counted
///   it in sync (in an append answering an ack sent since the backup last stalled or reconnected); otherwise
///   it stays a backup and says why. A primary that stalled steps down and says hello.
/// - Two nodes that meet with no primary between them: the one with the higher log position (tracker order
///   breaks ties) asks for the other's vote in a new epoch and promotes once it has it. Each node takes epochs
///   of its own parity and makes the highest epoch it has seen durable, so no epoch is ever taken twice.
/// - A message with a higher epoch makes any node step down and follow; one with a lower epoch is answered
///   with a hello, so its stale sender learns.
public struct ReplicaCore: Sendable {
    /// How the core counts time and sizes its catch-up batches.
    public struct Configuration: Hashable, Sendable {
        /// This node's place in cluster.yaml's tracker list: 0 or 1. Lower wins ties.
        public var index: Int
        /// Ticks between heartbeats.
        public var heartbeatTicks: Int
        /// Ticks of silence after which the peer is taken for dead.
        public var failoverTicks: Int
        /// Payload bytes per catch-up append.
        public var catchUpBatchBytes: Int

        /// A configuration for node `index` (0 or 1).
        public init(index: Int, heartbeatTicks: Int = 1, failoverTicks: Int = 10, catchUpBatchBytes: Int = 1 << 20) {
            precondition(index == 0 || index == 1, "a pair has nodes 0 and 1")
            precondition(heartbeatTicks > 0 && failoverTicks > heartbeatTicks, "silence must outlast heartbeats")
            self.index = index
            self.heartbeatTicks = heartbeatTicks
            self.failoverTicks = failoverTicks
            self.catchUpBatchBytes = catchUpBatchBytes
        }
    }

    /// What the primary knows of its backup.
    struct BackupProgress: Hashable, Sendable {
        /// The next seq to send.
        var next: UInt64
        /// The backup's log is known to equal ours up to here.
        var match: UInt64
        /// Every entry has been sent: new ones go out as they are proposed.
        var live = false
        /// Commits wait for the backup's acks. Set when catch-up has sent everything, kept across reconnections,
        /// dropped only after `failoverTicks` of silence: while it is set, every committed entry is durable on
        /// the backup, so the backup may take over at any moment without losing one.
        var inSync = false
        /// A snapshot is being streamed.
        var snapshotting = false
        /// Silent for `failoverTicks`: nothing but heartbeats (saying it is not in sync) until it answers.
        var takenForDead = false
        /// The number of the last ack heard, echoed in appends.
        var lastAck: UInt64 = 0
    }

    let configuration: Configuration
    /// What this node is now.
    public internal(set) var role: ReplicaRole = .waiting
    /// The highest epoch this node knows of.
    public internal(set) var epoch: UInt64
    /// The epochs of the local log.
    public internal(set) var history: EpochHistory
    /// The last entry of the local log (durable or not).
    public internal(set) var last: LogPosition
    /// The last entry known to be on the local disk.
    public internal(set) var durableSeq: UInt64
    /// Primary: entries up to here are acknowledged. Backup: the primary's commit point as last heard.
    public internal(set) var commitSeq: UInt64
    /// Entries up to here have been handed out for applying.
    public internal(set) var appliedSeq: UInt64
    /// Why a backup or waiting node is not taking writes, for `status`; nil when there is nothing to explain.
    public internal(set) var standbyReason: String?

    var ticksSinceHeard = 0
    var ticksSinceHeartbeat = 0
    var backup: BackupProgress?
    /// Asked the peer for its vote in the current epoch, and not answered yet.
    var campaigning = false
    /// Primary: the backup's position in the hello that started a snapshot streaming on this connection.
    var snapshotStreamedFor: LogPosition?
    /// Backup: whether the primary said it counts this node in sync, in an append sent after hearing an ack
    /// numbered above `trustAcksAbove`: then it takes over if the primary goes silent.
    public internal(set) var countedInSync = false
    /// Acks this node has sent.
    var acksSent: UInt64 = 0
    /// Set to `acksSent` on a new connection and after a stall: older appends may predate being taken for dead.
    var trustAcksAbove: UInt64 = 0
    /// Backup: the local log is known to equal the log of the primary of `matchedEpoch` up to here.
    var matchedSeq: UInt64 = 0
    var matchedEpoch: UInt64 = 0
    /// Records handed out for persisting and not yet reported durable: catch-up sends them from here, since
    /// the log on disk does not have them yet.
    var unpersisted: [LogRecord] = []
    /// Primary: handing the role over to the backup (a switchover); no proposals are taken meanwhile.
    var handOver: HandOver?
    /// Why the last switchover begun here ended without one, for `status`; nil when none did.
    public internal(set) var lastHandOverFailure: String?

    /// A node that recovered from disk with its log ending at `last`, every entry applied, and `epoch` the
    /// highest epoch it had made durable (``ReplicaReady/persistEpoch``).
    public init(configuration: Configuration, history: EpochHistory, last: LogPosition, epoch: UInt64 = 0) {
        self.configuration = configuration
        self.history = history
        self.last = last
        self.epoch = max(epoch, history.lastEpoch, last.epoch)
        self.durableSeq = last.seq
        self.commitSeq = last.seq
        self.appliedSeq = last.seq
        self.standbyReason = "waiting for the other tracker"
    }

    /// Where the durable log ends.
    public var durablePosition: LogPosition {
        LogPosition(epoch: self.history.epoch(of: self.durableSeq) ?? 0, seq: self.durableSeq)
    }

    /// What this node says when it meets the peer: its role and where its durable log ends.
    public func hello() -> Hello {
        Hello(
            epoch: self.epoch, role: self.role, position: self.durablePosition,
            epochStart: self.epochStart(of: self.durableSeq))
    }

    /// Where the epoch of entry `seq` begins in the local log (0 for an empty log).
    func epochStart(of seq: UInt64) -> UInt64 {
        self.history.starts.last { $0.firstSeq <= seq }?.firstSeq ?? 0
    }

    /// Whether the backup is in sync: commits wait for it and it holds every committed entry, so it may take
    /// over. Appends tell the backup so.
    public var backupInSync: Bool {
        guard let backup = self.backup else { return false }
        return backup.inSync && backup.match >= self.commitSeq
    }

    /// The hello to send when a sync connection opens. A backup forgets that it was counted in sync (the
    /// primary starts it over from this hello, and only a later append may say it is in sync again), and a
    /// vote asked on the old connection is forgotten.
    public mutating func helloForNewConnection() -> SyncMessage {
        self.distrustOlderAppends()
        self.campaigning = false
        self.snapshotStreamedFor = nil
        return .hello(self.hello())
    }

    /// One tick of the clock. `stalled` says the process did not run for a while (it was stopped, or starved;
    /// the shell sees it on the wall clock, past half the failover timeout). A backup forgets being counted in
    /// sync: the primary may have taken it for dead meanwhile.
    ///
    /// A primary that stalled steps down and says hello: while it was stopped the backup may have taken over,
    /// so it acknowledges nothing more until the pair has agreed again (an election, or the newer primary's
    /// epoch).
    ///
    /// `peerGone` says the other tracker's process is not running: with no connection between them, its sync
    /// port refused a connection (its host answers, and nothing listens there). A process that is not running
    /// can neither commit nor take over, so this node need not wait out `failoverTicks`: a primary commits alone
    /// at once, and a backup counted in sync takes over at once (one that was catching up stays a backup, as
    /// after a timeout). It comes with a tick, after the stall is dealt with, because a refusal says nothing of
    /// what the other did while this process was stopped: it may have taken over, committed, and died since.
    /// A stopped (SIGSTOP) or unreachable process does not refuse, so it is still waited for.
    public mutating func tick(stalled: Bool = false, peerGone: Bool = false) -> ReplicaReady {
        var ready = ReplicaReady()
        if stalled {
            self.distrustOlderAppends()
            if self.role == .primary {
                self.stepDown(to: .waiting, into: &ready)
                self.standbyReason = "this tracker stalled; confirming with the other tracker who is primary"
                ready.messages.append(.hello(self.hello()))
                return ready
            }
        }
        self.ticksSinceHeard += 1
        self.ticksSinceHeartbeat += 1
        let silent = peerGone || self.ticksSinceHeard >= self.configuration.failoverTicks
        switch self.role {
        case .primary:
            if silent { self.dropBackup(into: &ready) }
            self.tickHandOver()
            if self.ticksSinceHeartbeat >= self.configuration.heartbeatTicks, let backup = self.backup,
                !backup.snapshotting
            {
                ready.messages.append(.append(self.append(after: backup.next - 1, records: [])))
                self.ticksSinceHeartbeat = 0
            }
        case .backup:
            if silent { self.takeOverFromSilentPrimary(into: &ready) }
        case .waiting:
            break
        }
        return ready
    }

    /// The backup is taken for dead: commit alone. Should it answer again, it is caught up from where it stopped.
    private mutating func dropBackup(into ready: inout ReplicaReady) {
        guard self.backup?.inSync == true else { return }
        self.endHandOver(because: "the other tracker went silent")
        self.backup?.inSync = false
        self.backup?.live = false
        self.backup?.takenForDead = true
        self.commit(into: &ready)
    }

    /// The primary is gone: promote if it counted this backup in sync, else stay and say why.
    private mutating func takeOverFromSilentPrimary(into ready: inout ReplicaReady) {
        if self.countedInSync {
            self.promote(into: &ready)
        } else {
            self.standbyReason =
                "the primary is silent, and this tracker was catching up when it went: it will not promote "
                + "itself, since it may lack acknowledged writes (start the other tracker, or force it)"
        }
    }

    /// An operator forces this node to be primary (`tandemctl promote --force`): whatever the other node
    /// acknowledged and this one lacks is lost.
    public mutating func forcePromote() -> ReplicaReady {
        var ready = ReplicaReady()
        if self.role != .primary { self.promote(into: &ready) }
        return ready
    }

    /// The primary takes new ops: gives each the next position and returns their records (nil when this node
    /// is not the primary; the shell forwards or redirects the request).
    public mutating func propose(_ payloads: [ByteBuffer]) -> (records: [LogRecord], ready: ReplicaReady)? {
        guard self.role == .primary, self.handOver == nil else { return nil }
        var ready = ReplicaReady()
        let records = payloads.map { self.appendLocally($0) }
        ready.persist = records
        // Live replication: a backup that has been sent everything before these records gets them at once
        // (this also ends a catch-up that has just reached the end of the log).
        if var backup = self.backup, !backup.snapshotting, !backup.takenForDead, let first = records.first,
            backup.next == first.seq
        {
            if !backup.live {
                backup.live = true
                backup.inSync = true
            }
            backup.next = self.last.seq + 1
            self.backup = backup
            ready.messages.append(.append(self.append(after: first.seq - 1, records: records)))
            self.ticksSinceHeartbeat = 0
        }
        return (records, ready)
    }

    /// The shell made every record up to `position` durable. A report for a record that was cut meanwhile is
    /// ignored (its seq may be taken by a newer record).
    public mutating func persisted(through position: LogPosition) -> ReplicaReady {
        var ready = ReplicaReady()
        let seq = position.seq
        guard seq > self.durableSeq, seq <= self.last.seq, self.history.epoch(of: seq) == position.epoch else {
            return ready
        }
        self.durableSeq = seq
        self.unpersisted.removeAll { $0.seq <= seq }
        switch self.role {
        case .primary:
            self.commit(into: &ready)
            self.handOverIfCaughtUp(into: &ready)
        case .backup, .waiting:
            self.applyMatched(into: &ready)
            ready.messages.append(self.makeAck())
        }
        return ready
    }

    /// The shell could not write the records from `position` on (the disk is full): they are cut from the
    /// bookkeeping. A primary that may have sent them to the backup steps down, since the backup may hold them
    /// and this node would give their seqs to other records; one that sent none goes on. A report for a record
    /// that was cut meanwhile is ignored.
    public mutating func persistFailed(at position: LogPosition, log: some ReplicaLogReader) -> ReplicaReady {
        var ready = ReplicaReady()
        guard position.seq > self.durableSeq, position.seq <= self.last.seq,
            self.history.epoch(of: position.seq) == position.epoch
        else { return ready }
        let sent = self.backup.map { $0.next > position.seq } ?? false
        self.truncate(after: position.seq - 1, log: log, into: &ready)
        if self.role == .primary && sent {
            self.stepDown(to: .waiting, into: &ready)
            self.standbyReason =
                "this tracker could not write its log; confirming with the other tracker who is primary"
            ready.messages.append(.hello(self.hello()))
        }
        return ready
    }

    /// Primary: where the backup's log is known to match this one (nil without a backup).
    public var backupMatch: UInt64? { self.backup?.match }

    /// An ack of the durable log, numbered.
    mutating func makeAck() -> SyncMessage {
        self.acksSent += 1
        return .ack(
            epoch: self.epoch, position: self.durablePosition, epochStart: self.epochStart(of: self.durableSeq),
            number: self.acksSent)
    }

    /// Forgets being counted in sync until an append answers an ack sent from now on.
    mutating func distrustOlderAppends() {
        self.countedInSync = false
        self.trustAcksAbove = self.acksSent
    }

    // MARK: Shared steps

    /// Appends one record of the current epoch to the local log's bookkeeping.
    mutating func appendLocally(_ payload: ByteBuffer) -> LogRecord {
        let record = LogRecord(epoch: self.epoch, seq: self.last.seq + 1, payload: payload)
        self.note(record)
        return record
    }

    /// Takes `record`, the next of the log, into the bookkeeping; it is to be persisted.
    mutating func note(_ record: LogRecord) {
        precondition(record.seq == self.last.seq + 1, "records follow the log without a gap")
        self.history.note(epoch: record.epoch, seq: record.seq)
        self.last = LogPosition(epoch: record.epoch, seq: record.seq)
        self.unpersisted.append(record)
    }

    /// Cuts the local log back to `seq`; the shell keeps what is cut aside. Cutting below the newest snapshot
    /// (below the log's first seq) empties the log and drops the snapshot: a FULLSYNC follows.
    mutating func truncate(after requested: UInt64, log: some ReplicaLogReader, into ready: inout ReplicaReady) {
        guard requested < self.last.seq else { return }
        let seq = requested + 1 < log.firstSeq ? 0 : requested
        ready.truncateAfter = min(ready.truncateAfter ?? seq, seq)
        ready.persist.removeAll { $0.seq > seq }
        self.history.truncate(after: seq)
        self.last = LogPosition(epoch: self.history.epoch(of: seq) ?? 0, seq: seq)
        self.durableSeq = min(self.durableSeq, seq)
        self.unpersisted.removeAll { $0.seq > seq }
        self.matchedSeq = min(self.matchedSeq, seq)
        self.commitSeq = min(self.commitSeq, seq)
        if self.appliedSeq > seq {
            ready.rebuildState = true
            self.appliedSeq = seq
        }
    }

    /// An append of `records` following entry `seq` of the local log.
    func append(after seq: UInt64, records: [LogRecord]) -> Append {
        Append(
            epoch: self.epoch, previous: LogPosition(epoch: self.history.epoch(of: seq) ?? 0, seq: seq),
            records: records, commitSeq: self.commitSeq, backupInSync: self.backupInSync,
            ackEcho: self.backup?.lastAck ?? 0)
    }

    /// The primary's commit rule: durable here and, while the backup is in sync, acknowledged by it.
    mutating func commit(into ready: inout ReplicaReady) {
        var point = self.durableSeq
        if let backup = self.backup, backup.inSync { point = min(point, backup.match) }
        guard point > self.commitSeq else { return }
        self.commitSeq = point
        if point > self.appliedSeq {
            self.appliedSeq = point
            ready.applyThrough = point
        }
    }

    /// The backup's apply rule: durable here and known to match the primary's log.
    mutating func applyMatched(into ready: inout ReplicaReady) {
        let point = min(self.durableSeq, self.matchedSeq)
        guard point > self.appliedSeq else { return }
        self.appliedSeq = point
        ready.applyThrough = point
    }

    /// Moves to `epoch`, which the shell makes durable before anything else of the Ready: a restarted node must
    /// never take, or vote in, an epoch it has seen already.
    mutating func advanceEpoch(to epoch: UInt64, into ready: inout ReplicaReady) {
        self.epoch = epoch
        ready.persistEpoch = epoch
    }

    /// The smallest epoch of this node's parity above every epoch it knows.
    func nextEpoch() -> UInt64 {
        let above = self.epoch + 1
        return above % 2 == UInt64(self.configuration.index) ? above : above + 1
    }

    /// Becomes primary with a new epoch, marking its start in the log with an empty record.
    mutating func promote(into ready: inout ReplicaReady) {
        self.advanceEpoch(to: self.nextEpoch(), into: &ready)
        self.becomePrimary(into: &ready)
    }

    /// Takes the primary role in the current epoch, marking its start in the log with an empty record.
    mutating func becomePrimary(into ready: inout ReplicaReady) {
        self.campaigning = false
        self.role = .primary
        self.standbyReason = nil
        self.countedInSync = false
        ready.newRole = .primary
        // Entries this node holds but has not applied (it was a backup) become its own: they commit with the
        // marker, which follows them.
        ready.persist.append(self.appendLocally(ByteBuffer()))
        self.backup = nil
        self.handOver = nil
        self.ticksSinceHeard = 0
    }

    /// Starts matching against the log of the primary of `epoch`: nothing is known to match it yet.
    mutating func verify(against epoch: UInt64) {
        guard epoch != self.matchedEpoch else { return }
        self.matchedEpoch = epoch
        self.matchedSeq = 0
    }

    /// Stops being primary because a node with a higher epoch exists.
    mutating func stepDown(to role: ReplicaRole, into ready: inout ReplicaReady) {
        if self.role == .primary {
            ready.abandonAfter = self.commitSeq
            self.backup = nil
            self.handOver = nil
        }
        if self.role != role { ready.newRole = role }
        self.role = role
        self.countedInSync = false
    }
}
