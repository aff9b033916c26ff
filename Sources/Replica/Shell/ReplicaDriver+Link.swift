import Logging
import NIOCore
import ReplicaCore

/// The connection to the other tracker: what goes out on it, held until the epoch it is sent in is durable, and
/// what is reset when it changes.
extension ReplicaDriver {
    /// A sync connection to the other tracker is up (authenticated): messages go out on it from now on. One
    /// still open is given up first, as if it had closed: only the newest connection is used.
    public func connected(_ link: any SyncLink) {
        if self.halted { return link.close() }
        if self.link != nil { self.dropConnection() }
        self.link = link
        self.send([self.core.helloForNewConnection()])
        self.publish()
        self.logger.info("connected to the other tracker")
    }

    /// The sync connection `link` closed (an older one is ignored).
    public func disconnected(_ link: any SyncLink) {
        guard self.link === link else { return }
        self.dropConnection()
        self.publish()
        self.logger.info("lost the connection to the other tracker")
    }

    /// Forgets the current connection. Forwarded writes not answered yet are answered "retry": the primary may
    /// or may not have logged them. What it brought and was held, what waited to go out on it, and a snapshot
    /// it was streaming are thrown away: the next connection starts over.
    func dropConnection() {
        self.link = nil
        self.outbox = []
        self.pendingMessages = []
        self.streamAfterEpochSaved = false
        self.held = []
        self.heldBytes = 0
        self.skippingHeldStream = false
        if self.receiving {
            self.receiving = false
            self.submit([.abandonReceiving])
        }
        Self.complete(self.settleForwards())
    }

    /// Ends what this node forwarded: writes the primary has not answered are answered "retry" (it may or may not
    /// have logged them), and those it answered get their answer (their entries are in this node's log: the
    /// primary committed them only once this node held them).
    func settleForwards() -> [Outcome] {
        let outcomes =
            self.forwards.sorted { $0.key < $1.key }.map {
                ($0.value, Result<Machine.Output, ReplicaError>.failure(.steppedDown))
            }
            + self.answered.map { ($0.completion, .success($0.output)) }
        self.forwards = [:]
        self.answered = []
        return outcomes
    }

    /// Sends `messages` to the other tracker, after an epoch being saved if there is one.
    func send(_ messages: [SyncMessage]) {
        guard self.link != nil, !messages.isEmpty else { return }
        if self.savingEpoch != nil { return self.outbox += messages }
        self.pendingMessages += messages
        self.scheduleHandOver()
    }

    /// The records of `work` when it is only appends of one generation.
    private static func appends(_ work: [StorageWork<Machine>]) -> ([LogRecord], Int)? {
        var records: [LogRecord] = []
        var generation: Int?
        for item in work {
            guard case .append(let appended, let itsGeneration) = item, generation ?? itsGeneration == itsGeneration
            else { return nil }
            generation = itsGeneration
            records += appended
        }
        return generation.map { (records, $0) }
    }

    /// Queues `work` for the storage.
    func submit(_ work: [StorageWork<Machine>]) {
        self.pendingWork += work
        self.scheduleHandOver()
    }

    /// Hands what this turn of the loop made to the storage and the link once the turn is over, so the writes
    /// of every connection read in one turn go to the writer in one submission and to the other tracker in one
    /// frame: one wake-up and one syscall, not one per write.
    private func scheduleHandOver() {
        guard !self.handOverScheduled else { return }
        self.handOverScheduled = true
        let driver = NIOLoopBound(self, eventLoop: self.eventLoop)
        self.eventLoop.execute { driver.value.handOver() }
    }

    /// Gives the link its queued messages and the storage its queued work. The messages go first: entries reach
    /// the backup while this tracker syncs them, not after (no message claims durability). Appends alone, when
    /// the storage is idle, are written at once on this thread and their outcome handled here: a lone batch
    /// costs no hand-over to the writer and back (what Redis's `appendfsync always` does on its one thread).
    func handOver() {
        self.handOverScheduled = false
        self.sendPendingMessages()
        if !self.pendingWork.isEmpty {
            let work = self.pendingWork
            self.pendingWork = []
            if let (records, generation) = Self.appends(work),
                let events = self.storage.appendNow(records, generation: generation)
            {
                for event in events { self.handle(event) }
            } else {
                self.storage.submit(work)
            }
        }
    }

    /// Sends the queued messages now.
    func sendPendingMessages() {
        guard !self.pendingMessages.isEmpty else { return }
        self.link?.send(self.pendingMessages)
        self.pendingMessages = []
    }

    /// The storage made `epoch` durable: what waited for it goes out, but a vote given in an epoch this node
    /// has left since (it waited past the failover timeout and promoted itself) is dropped: the vote promised
    /// not to take over, and it has. A FULLSYNC stream that waited goes only if this node still leads.
    func epochSaved(_ epoch: UInt64) {
        guard let saving = self.savingEpoch, epoch >= saving else { return }
        self.savingEpoch = nil
        let messages = self.outbox.filter { message in
            guard case .vote(_, let voter) = message else { return true }
            return voter.epoch >= self.core.epoch
        }
        self.outbox = []
        self.send(messages)
        if self.streamAfterEpochSaved {
            self.streamAfterEpochSaved = false
            if self.core.role == .primary { self.streamSnapshot() }
        }
    }

    /// The storage stopped: this tracker leaves the pair until it is restarted. Proposals are refused with
    /// `error`, the connection is closed, and later ones are closed as they come, so the other tracker stops
    /// counting on acknowledgements this one can no longer make durable.
    func halt(_ error: ReplicaError) {
        self.halted = true
        self.refusal = error
        self.finishClosing(with: error)
        self.link?.close()
        if self.link != nil { self.dropConnection() }
        self.publish()
    }
}
