import Wire

/// One write of a drill's load: a `CREATE_GROUP` of a fresh name, when it was sent and answered, and how.
struct DrillWrite: Sendable, Equatable {
    /// How the cluster answered, after `tandemctl`'s own retries.
    enum Outcome: Sendable, Equatable {
        case acknowledged
        /// The cluster refused it; `exists` means it had been applied before (a duplicate).
        case refused(ErrorCode, String)
        /// No tracker took it within the retry window.
        case unanswered(String)

        /// Refused when `reply` is an error, else acknowledged.
        static func answered(_ reply: Reply) -> Outcome {
            if case .error(let code, let message) = reply { .refused(code, message) } else { .acknowledged }
        }
    }

    let name: String
    let sent: ContinuousClock.Instant
    let answered: ContinuousClock.Instant
    let outcome: Outcome
    /// The tracker it was sent to, when the writer was pinned to one.
    var tracker: String?
}

/// Something the drill saw happen, such as a promotion or a restart.
struct DrillEvent: Sendable, Equatable {
    /// What sort of step it is, for the report to tell the one that ends the outage.
    enum Kind: Sendable, Equatable {
        /// The fault, or a step of the recovery.
        case step
        /// A tracker took the primary role: the outage ends here.
        case promotion
    }

    let at: ContinuousClock.Instant
    let what: String
    var kind = Kind.step
}

/// What a drill found: the timeline around the fault, the longest time clients saw no write acknowledged, and
/// the loss check. Pure: it only reads what the run recorded.
struct DrillReport {
    /// When the fault was injected; the timeline counts from it.
    let fault: ContinuousClock.Instant
    /// The fault and what followed, in the order seen.
    let events: [DrillEvent]
    /// Every write the load made.
    let writes: [DrillWrite]
    /// The names the primary lists once the drill is over.
    let readBack: Set<String>
    /// Where ``readBack`` came from, as `t2 (the primary)`.
    let readFrom: String
    /// What the drill waited for and did not see before its deadline.
    let missed: [String]
    /// For a partition: what became of each acknowledged write.
    var partition: PartitionAccount?
    /// What became of the drill's groups once it was over.
    var cleanUp: String?

    /// Writes the cluster acknowledged.
    var acknowledged: [DrillWrite] { self.writes.filter { $0.outcome == .acknowledged } }

    /// Acknowledged writes the primary does not have.
    var lost: [String] { self.acknowledged.map(\.name).filter { !self.readBack.contains($0) }.sorted() }

    /// Writes refused as existing already: applied once, then again on a retry.
    var duplicated: [DrillWrite] {
        self.writes.filter { if case .refused(.exists, _) = $0.outcome { true } else { false } }
    }

    /// Writes that failed for any other reason.
    var failed: [DrillWrite] {
        self.writes.filter { write in
            switch write.outcome {
            case .acknowledged, .refused(.exists, _): false
            case .refused, .unanswered: true
            }
        }
    }

    /// The longest span, from the fault on, in which no write was acknowledged: what a client saw of the fault.
    var unavailability: Duration {
        let acks = self.acknowledged.map(\.answered).sorted()
        var previous = acks.last { $0 <= self.fault } ?? self.fault
        var longest = Duration.zero
        for ack in acks where ack > self.fault {
            longest = max(longest, ack - previous)
            previous = ack
        }
        return longest
    }

    /// The first write acknowledged after the event that ends the outage (a promotion), or after the fault.
    var firstWriteAfterRecovery: ContinuousClock.Instant? {
        let since = self.events.first { $0.kind == .promotion }?.at ?? self.fault
        return self.acknowledged.map(\.answered).filter { $0 > since }.min()
    }

    /// Whether the drill passed: nothing lost, duplicated or failed, and every step it waited for happened. In a
    /// partition, writes that failed are expected (their clients were told): only acknowledged ones count.
    var passed: Bool {
        self.lost.isEmpty && self.duplicated.isEmpty && (self.partition != nil || self.failed.isEmpty)
            && self.missed.isEmpty
    }

    /// The report as printed: the timeline, the unavailability, the loss check, and PASS or FAIL.
    var lines: [String] {
        var timeline = self.events.map { ($0.at, $0.what) }
        if let first = self.firstWriteAfterRecovery {
            let after = self.events.contains { $0.kind == .promotion } ? "the promotion" : "the fault"
            timeline.append((first, "first write acknowledged after \(after)"))
        }
        timeline.sort { $0.0 < $1.0 }
        var lines = timeline.map { "\(Self.offset($0.0 - self.fault).leftPad(9))  \($0.1)" }
        lines += self.missed.map { "   missed  \($0) (not seen before the deadline)" }
        let acknowledged = self.acknowledged.count
        lines.append(
            "writes: \(acknowledged) acknowledged, \(self.duplicated.count) duplicated, \(self.failed.count) failed; "
                + "client-visible unavailability \(Self.milliseconds(self.unavailability)) ms "
                + "(the longest span without an acknowledged write)")
        if let partition = self.partition {
            lines += partition.lines
            for write in self.duplicated.prefix(10) { lines.append("  \(write.name): \(write.outcome)") }
        } else {
            lines.append(
                "loss check: \(acknowledged - self.lost.count) of \(acknowledged) acknowledged writes read back from "
                    + "\(self.readFrom); \(self.lost.count) lost")
            for name in self.lost.prefix(10) { lines.append("  lost: \(name)") }
            for write in (self.duplicated + self.failed).prefix(10) {
                lines.append("  \(write.name): \(write.outcome)")
            }
        }
        if let cleanUp = self.cleanUp { lines.append(cleanUp) }
        lines.append(self.passed ? "PASS" : "FAIL")
        return lines
    }

    private static func offset(_ duration: Duration) -> String {
        let milliseconds = Self.milliseconds(duration)
        return milliseconds < 0 ? "\(milliseconds) ms" : "+\(milliseconds) ms"
    }

    private static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

extension String {
    /// The string right-aligned in `width` columns.
    fileprivate func leftPad(_ width: Int) -> String {
        String(repeating: " ", count: max(0, width - self.count)) + self
    }
}

extension DrillWrite.Outcome: CustomStringConvertible {
    var description: String {
        switch self {
        case .acknowledged: "acknowledged"
        case .refused(.exists, let message): "duplicated: \(message)"
        case .refused(let code, let message): "refused (\(code.rawValue)): \(message)"
        case .unanswered(let reason): "unanswered: \(reason)"
        }
    }
}
