extension ReplicaCore {
    /// A message from the peer. `log` reads the local log when a backup needs catching up.
    public mutating func receive(_ message: SyncMessage, log: some ReplicaLogReader) -> ReplicaReady {
        var ready = ReplicaReady()
        if case .requestVote(let candidate) = message {
            self.considerVote(for: candidate, into: &ready)
            return ready
        }
        if case .hello = message {
            // A hello is how nodes meet; its epoch may be old (a node just restarted) and is handled below.
        } else if message.epoch < self.epoch {
            ready.messages.append(.hello(self.hello()))
            return ready
        }
        if message.epoch > self.epoch {
            self.advanceEpoch(to: message.epoch, into: &ready)
            self.campaigning = false  // A candidacy in an older epoch can no longer win.
            if self.role == .primary {
                // Fenced. The newer primary may not know where this log ends (the link never broke, so no
                // hello went out): say it, so it can cut this log back and catch it up.
                self.stepDown(to: .waiting, into: &ready)
                ready.messages.append(.hello(self.hello()))
            }
        }
        self.ticksSinceHeard = 0
        switch message {
        case .hello(let hello):
            self.meet(hello, log: log, into: &ready)
        case .append(let append):
            self.follow(append, log: log, into: &ready)
        case .ack(_, let position, let epochStart, let number):
            self.acknowledged(position, epochStart: epochStart, number: number, log: log, into: &ready)
        case .mismatch(_, let position, let epochStart):
            if self.role == .primary {
                self.startReplicating(
                    to: Hello(epoch: self.epoch, role: .backup, position: position, epochStart: epochStart),
                    log: log, into: &ready)
                self.sendCatchUp(log: log, into: &ready)
            }
        case .truncate(let epoch, let seq):
            self.becomeBackup(into: &ready)
            self.verify(against: epoch)
            // Entries up to `matchedSeq` are known to equal the primary's: a cut below them is a stale repeat.
            if seq >= self.matchedSeq {
                self.truncate(after: seq, log: log, into: &ready)
                self.matchedSeq = min(seq, self.last.seq)
                self.applyMatched(into: &ready)
            }
            ready.messages.append(self.makeAck())
        case .snapshotFollows(let epoch, _):
            self.becomeBackup(into: &ready)
            self.verify(against: epoch)
        case .takeOver(let epoch, let through):
            self.takeOver(from: epoch, through: through, log: log, into: &ready)
        case .vote(let granted, let voter):
            guard self.campaigning, voter.epoch == self.epoch, self.role != .primary else { break }
            self.campaigning = false
            if granted {
                self.becomePrimary(into: &ready)
                self.startReplicating(to: voter, log: log, into: &ready)
                self.sendCatchUp(log: log, into: &ready)
            } else {
                self.meet(voter, log: log, into: &ready)
            }
        case .requestVote:
            break
        }
        return ready
    }

    /// The primary streamed its snapshot at `position` to the backup; catch-up goes on after it.
    public mutating func snapshotSent(at position: LogPosition, log: some ReplicaLogReader) -> ReplicaReady {
        var ready = ReplicaReady()
        guard self.role == .primary, var backup = self.backup, backup.snapshotting else { return ready }
        backup.snapshotting = false
        backup.next = position.seq + 1
        self.backup = backup
        self.sendCatchUp(log: log, into: &ready)
        return ready
    }

    /// Whether a FULLSYNC stream from the primary of `epoch`, of a snapshot at `position`, may be installed: this
    /// node follows that primary, and its durable log does not already reach past the snapshot (a repeated
    /// catch-up may stream an older snapshot after newer entries were made durable and acknowledged here).
    public func acceptsSnapshot(from epoch: UInt64, at position: LogPosition) -> Bool {
        self.role == .backup && epoch == self.epoch && position.seq > self.durableSeq
    }

    /// The backup replaced its state and log with the primary's snapshot at `position` (FULLSYNC).
    public mutating func snapshotInstalled(at position: LogPosition) -> ReplicaReady {
        var ready = ReplicaReady()
        self.history = EpochHistory([EpochHistory.Start(epoch: position.epoch, firstSeq: position.seq)])
        self.last = position
        self.durableSeq = position.seq
        self.appliedSeq = position.seq
        self.matchedSeq = position.seq
        self.matchedEpoch = self.epoch
        self.commitSeq = position.seq
        self.unpersisted = []
        ready.messages.append(self.makeAck())
        return ready
    }

    // MARK: Hello: who leads

    /// Decides, on meeting the peer, who is primary.
    mutating func meet(_ hello: Hello, log: some ReplicaLogReader, into ready: inout ReplicaReady) {
        switch (self.role, hello.role) {
        case (.primary, _):
            // The same hello again after a snapshot was streamed for it on this connection, while or after it
            // streams (a backup says hello on connecting and again once it learns who leads, which can be
            // before it has installed the snapshot): that stream serves it; a second would be waste.
            if self.backup != nil, self.snapshotStreamedFor == hello.position { break }
            // A restarted or stale node: it follows once it sees this node's epoch.
            self.startReplicating(to: hello, log: log, into: &ready)
            self.sendCatchUp(log: log, into: &ready)
            self.snapshotStreamedFor = self.backup?.snapshotting == true ? hello.position : nil
        case (_, .primary) where hello.epoch >= self.epoch:
            // Tell the primary where this log ends: it may have no hello from this node since it took over.
            self.becomeBackup(into: &ready)
            ready.messages.append(.hello(self.hello()))
        case (_, .primary):
            break  // A stale primary: it steps down on this node's hello, sent when the connection opened.
        case (_, _):
            // No primary between us: the longer log leads; tracker order breaks a tie.
            let mine = self.durablePosition
            if mine > hello.position || (mine == hello.position && self.configuration.index == 0) {
                guard !self.campaigning else { break }
                self.advanceEpoch(to: self.nextEpoch(), into: &ready)
                self.campaigning = true
                self.standbyReason = "asking the other tracker to agree that this one becomes primary"
                ready.messages.append(.requestVote(candidate: self.hello()))
            } else {
                // The peer leads; it may not have this node's hello (it stalled, or the link was up already).
                self.standbyReason =
                    "the other tracker has the longer log (\(hello.position)); it takes the primary role"
                ready.messages.append(.hello(self.hello()))
            }
        }
    }

    /// Votes for `candidate` if its epoch is new to this node, its log is at least as long, and this node is not
    /// a live primary (then the candidate should follow it instead). A vote adopts the epoch: this node gives no
    /// other vote in it and ignores anything older.
    mutating func considerVote(for candidate: Hello, into ready: inout ReplicaReady) {
        let granted =
            candidate.epoch > self.epoch && self.role != .primary
            && candidate.position >= self.durablePosition
        if granted {
            self.advanceEpoch(to: candidate.epoch, into: &ready)
            self.campaigning = false
            self.standbyReason = "voted for the other tracker to be primary in epoch \(candidate.epoch)"
            self.ticksSinceHeard = 0
        }
        var voter = self.hello()
        voter.epoch = candidate.epoch
        ready.messages.append(.vote(granted: granted, voter: voter))
        if !granted { ready.messages.append(.hello(self.hello())) }
    }

    /// Follows a primary from now on.
    mutating func becomeBackup(into ready: inout ReplicaReady) {
        if self.role != .backup { self.stepDown(to: .backup, into: &ready) }
        self.standbyReason = nil
    }

    // MARK: Primary side

    /// Starts catching up a backup whose log ends at `hello.position`. Where the logs part: both hold entries
    /// of the same epoch only up to the earlier end of that epoch (one primary per epoch), and if this log never
    /// had the backup's last epoch they part before its start. The backup cuts back to there; if that is below
    /// this log's snapshot, a FULLSYNC follows. Each round of cut and mismatch moves back, so it ends.
    mutating func startReplicating(to hello: Hello, log: some ReplicaLogReader, into ready: inout ReplicaReady) {
        let theirs = hello.position
        var agreed = theirs.seq
        let holdsTheirLast =
            theirs.seq == 0 || (theirs.seq <= self.last.seq && self.history.epoch(of: theirs.seq) == theirs.epoch)
        if !holdsTheirLast {
            agreed = min(theirs.seq, self.history.end(ofEpoch: theirs.epoch, lastSeq: self.last.seq))
            if !self.history.starts.contains(where: { $0.epoch == theirs.epoch }) {
                agreed = min(agreed, max(hello.epochStart, 1) - 1)
            }
        }
        if agreed < theirs.seq { ready.messages.append(.truncate(epoch: self.epoch, afterSeq: agreed)) }
        // A backup that was in sync stays so while it catches up again: commits wait for it (see
        // BackupProgress.inSync).
        self.backup = BackupProgress(next: agreed + 1, match: 0, inSync: self.backup?.inSync ?? false)
    }

    /// Sends the next catch-up batch, a snapshot when the entries are gone, or nothing once caught up.
    mutating func sendCatchUp(log: some ReplicaLogReader, into ready: inout ReplicaReady) {
        guard var backup = self.backup, !backup.live, !backup.snapshotting else { return }
        defer { self.backup = backup }
        if backup.next > self.last.seq {
            backup.live = true
            backup.inSync = true
            return
        }
        if backup.next < log.firstSeq {
            backup.snapshotting = true
            ready.sendSnapshot = true
            return
        }
        var records: [LogRecord]
        if let firstUnpersisted = self.unpersisted.first, backup.next >= firstUnpersisted.seq {
            records = Array(self.unpersisted.drop { $0.seq < backup.next })
        } else {
            records = log.records(from: backup.next, maxBytes: self.configuration.catchUpBatchBytes)
            if records.last.map({ $0.seq + 1 }) == self.unpersisted.first?.seq { records += self.unpersisted }
        }
        guard let end = records.last?.seq else { return }
        ready.messages.append(.append(self.append(after: backup.next - 1, records: records)))
        backup.next = end + 1
        if backup.next > self.last.seq {
            backup.live = true
            backup.inSync = true
        }
        self.ticksSinceHeartbeat = 0
    }

    /// The backup's durable log ends at `position`.
    mutating func acknowledged(
        _ position: LogPosition, epochStart: UInt64, number: UInt64, log: some ReplicaLogReader,
        into ready: inout ReplicaReady
    ) {
        guard self.role == .primary, var backup = self.backup else { return }
        guard position.seq <= self.last.seq, position.seq == 0 || self.history.epoch(of: position.seq) == position.epoch
        else {
            // The backup holds entries this log does not: cut them back and catch it up again.
            let end = Hello(epoch: self.epoch, role: .backup, position: position, epochStart: epochStart)
            self.startReplicating(to: end, log: log, into: &ready)
            self.sendCatchUp(log: log, into: &ready)
            return
        }
        if backup.takenForDead {
            // It answers again: catch it up from where it is.
            backup = BackupProgress(next: position.seq + 1, match: position.seq)
            self.backup = backup
            self.sendCatchUp(log: log, into: &ready)
            backup = self.backup ?? backup
        }
        backup.lastAck = max(backup.lastAck, number)
        backup.match = max(backup.match, position.seq)
        self.backup = backup
        if !backup.live, backup.match + 1 >= backup.next { self.sendCatchUp(log: log, into: &ready) }
        self.commit(into: &ready)
        self.handOverIfCaughtUp(into: &ready)
    }

    // MARK: Backup side

    /// Takes the primary's append: records that follow the local log, after cutting any that conflict.
    mutating func follow(_ append: Append, log: some ReplicaLogReader, into ready: inout ReplicaReady) {
        self.becomeBackup(into: &ready)
        self.verify(against: append.epoch)
        let previous = append.previous
        guard previous.seq <= self.last.seq,
            previous.seq == 0 || self.history.epoch(of: previous.seq) == previous.epoch
        else {
            ready.messages.append(
                .mismatch(epoch: self.epoch, position: self.last, epochStart: self.epochStart(of: self.last.seq)))
            return
        }
        self.countedInSync = append.backupInSync && append.ackEcho > self.trustAcksAbove
        for record in append.records {
            if record.seq <= self.last.seq {
                if self.history.epoch(of: record.seq) == record.epoch { continue }
                self.truncate(after: record.seq - 1, log: log, into: &ready)
            }
            guard record.seq == self.last.seq + 1 else {
                // The cut went below the snapshot: everything must come again, from the primary's snapshot.
                ready.messages.append(
                    .mismatch(epoch: self.epoch, position: self.last, epochStart: self.epochStart(of: self.last.seq)))
                return
            }
            self.note(record)
            ready.persist.append(record)
        }
        self.matchedSeq = append.records.last?.seq ?? previous.seq
        self.commitSeq = max(self.commitSeq, min(append.commitSeq, self.matchedSeq))
        self.applyMatched(into: &ready)
        if ready.persist.isEmpty {
            ready.messages.append(self.makeAck())
        }
    }
}
