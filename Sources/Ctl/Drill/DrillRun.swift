import Cluster
import Foundation
import Synchronization
import TandemCrypto
import TrackerClient
import Wire

/// The fault a drill injects.
enum DrillFault: Sendable {
    /// A signal to one tracker's process.
    case process(ProcessFault)
    /// Cut the sync link between the trackers for this long (only from the primary to the backup when
    /// `oneWay`), with writers on each tracker.
    case partition(Duration, oneWay: Bool)
}

/// A fault of one tracker's process.
enum ProcessFault: Sendable {
    /// kill -9 the primary; its service manager (or `tandemctl up`) starts it again.
    case killPrimary
    /// SIGSTOP the primary for this long, then SIGCONT.
    case pausePrimary(Duration)
    /// kill -9 the backup; its service manager (or `tandemctl up`) starts it again.
    case restartBackup
}

/// One drill against a cluster, the local one `tandemctl up` runs or one deployed on other hosts (reached over
/// ssh): a write load from a user of its own, the fault, the recovery watched through `STATUS`, and every
/// acknowledged write read back from the primary.
struct DrillRun {
    let context: CtlContext
    let fault: DrillFault
    let writers: Int
    /// How the drill reaches the trackers' processes and firewalls.
    var hosts = DrillHosts()

    /// How long the drill waits for each step of the recovery.
    static let stepDeadline = Duration.seconds(60)
    /// How often it asks the trackers how they stand.
    static let pollInterval = Duration.milliseconds(20)

    func run() async throws -> DrillReport {
        switch self.fault {
        case .partition(let length, let oneWay): try await self.partition(length, oneWay: oneWay)
        case .process(let fault): try await self.run(fault)
        }
    }

    /// Signals one tracker's process and watches the pair recover.
    private func run(_ fault: ProcessFault) async throws -> DrillReport {
        let trackers = self.context.config.trackers
        let (primary, backup) = try await self.readyPair()
        let (victim, survivor) = if case .restartBackup = fault { (backup, primary) } else { (primary, backup) }
        let pid = try await self.victimPid(victim)

        let (user, token) = try await self.drillUser()
        let load = DrillLoad(context: self.context, token: token, prefix: user, writers: self.writers)
        let loadTask = Task { await load.run() }
        await self.waitUntil { load.acknowledgedCount >= self.writers ? true : nil }

        let faultAt = ContinuousClock.now
        var events: [DrillEvent] = []
        var missed: [String] = []
        func record(_ what: String, kind: DrillEvent.Kind = .step, _ check: () async -> String?) async {
            if let event = await self.waitFor(kind: kind, check) { events.append(event) } else { missed.append(what) }
        }
        switch fault {
        case .killPrimary:
            try self.hosts.send(.kill, to: pid, of: victim)
            events.append(DrillEvent(at: faultAt, what: "fault: kill -9 \(victim.id), the primary (pid \(pid))"))
            await record("\(survivor.id) promoting itself", kind: .promotion) { await self.promotion(of: survivor) }
            await record("\(victim.id) restarted") { await self.restart(of: victim, replacing: pid) }
            await record("\(victim.id) catching up") { await self.caughtUp(victim, primary: survivor) }
        case .pausePrimary(let length):
            try self.hosts.send(.stop, to: pid, of: victim)
            events.append(DrillEvent(at: faultAt, what: "fault: SIGSTOP \(victim.id), the primary (pid \(pid))"))
            let promoted = await self.waitFor(until: faultAt + length, kind: .promotion) {
                await self.promotion(of: survivor)
            }
            if let promoted { events.append(promoted) }
            try? await Task.sleep(until: faultAt + length)
            do {
                try self.hosts.send(.cont, to: pid, of: victim)
            } catch {
                throw ClientError.failed(
                    "\(error); \(victim.id) (pid \(pid)) is still stopped: run kill -CONT \(pid) on \(victim.host)")
            }
            events.append(DrillEvent(at: .now, what: "SIGCONT \(victim.id) after \(length)"))
            let leader = promoted == nil ? victim : survivor
            let follower = promoted == nil ? survivor : victim
            if promoted != nil {
                await record("\(victim.id) stepping down") { await self.steppedDown(victim) }
            }
            await record("\(follower.id) in sync") { await self.caughtUp(follower, primary: leader) }
        case .restartBackup:
            try self.hosts.send(.kill, to: pid, of: victim)
            events.append(DrillEvent(at: faultAt, what: "fault: kill -9 \(victim.id), the backup (pid \(pid))"))
            await record("\(victim.id) restarted") { await self.restart(of: victim, replacing: pid) }
            await record("\(victim.id) catching up") { await self.caughtUp(victim, primary: survivor) }
        }
        // A second of load after the recovery, so the report shows writes flowing again.
        try? await Task.sleep(for: .seconds(1))
        load.stop()
        await loadTask.value

        let (readFrom, names) = try await self.readBack(token: token, trackers: trackers)
        var report = DrillReport(
            fault: faultAt, events: events, writes: load.writes, readBack: names, readFrom: readFrom,
            missed: missed)
        report.cleanUp = await self.dissolve(names, of: user, token: token)
        return report
    }

    /// Dissolves the drill's groups (its user leaves each, as their owner), so that drills do not pile groups up
    /// in every user's `list-groups`; says how it went.
    func dissolve(_ groups: Set<String>, of user: String, token: String) async -> String {
        let names = groups.sorted()
        let lanes = max(1, self.writers)
        let left = await withTaskGroup(of: [String].self) { group in
            for lane in 0..<lanes {
                // Lane `lane` takes every `lanes`-th name.
                let share = stride(from: lane, to: names.count, by: lanes).map { names[$0] }
                group.addTask {
                    var failed: [String] = []
                    for name in share {
                        let reply = try? await self.context.send(.leaveGroup(group: name), session: token)
                        if case .ok = reply { continue }
                        failed.append(name)
                    }
                    return failed
                }
            }
            return await group.reduce(into: []) { $0 += $1 }
        }
        guard left.isEmpty else {
            return "clean-up: dissolved \(names.count - left.count) of the \(names.count) groups of \(user); "
                + "\(left.count) are left (tandemctl leave-group as \(user) removes them)"
        }
        return "clean-up: dissolved the \(names.count) groups of \(user) (the account stays)"
    }

    /// The primary and its backup, which must be in sync before a drill.
    func readyPair() async throws -> (primary: TrackerConfig, backup: TrackerConfig) {
        let trackers = self.context.config.trackers
        var statuses: [String: [String: String]] = [:]
        for tracker in trackers { statuses[tracker.id] = await self.status(of: tracker) }
        guard let primary = trackers.first(where: { statuses[$0.id]?["role"] == "primary" }),
            statuses[primary.id]?["backup"] == "in_sync",
            let backup = trackers.first(where: { $0.id != primary.id })
        else {
            throw ClientError.failed(
                "the pair is not ready for a drill: it needs a primary with its backup in sync; see tandemctl status")
        }
        return (primary, backup)
    }

    /// A user of the drill's own, logged in: `drill-` and random hex, with a random password.
    func drillUser() async throws -> (user: String, token: String) {
        let user = "drill-" + Hex.encode(try Crypto.randomBytes(4))
        let password = Hex.encode(try Crypto.randomBytes(16))
        try await self.context.send(.createUser(user: user, password: password), withSession: false).throwIfError()
        let reply = try await self.context.send(.login(user: user, password: password), withSession: false)
        try reply.throwIfError()
        let token = try reply.expectToken()
        return (user, token)
    }

    /// Every group the primary lists, and which tracker that was.
    func readBack(token: String, trackers: [TrackerConfig]) async throws -> (String, Set<String>) {
        var primary: TrackerConfig?
        await self.waitUntil {
            for tracker in trackers where await self.status(of: tracker)?["role"] == "primary" {
                primary = tracker
                return true
            }
            return nil
        }
        guard let primary else {
            throw ClientError.failed("no tracker is primary after the drill; see tandemctl status")
        }
        let groups = try await self.context.withConnection(to: primary) { connection in
            try await ClusterClient.resume(token, on: connection)
            let reply = try await connection.send(.listGroups)
            try reply.throwIfError()
            return try reply.expectGroups()
        }
        // Every write of the drill created a group its user owns.
        return ("\(primary.id) (the primary)", Set(groups.filter { $0.membership == .owner }.map(\.name)))
    }

    // MARK: Watching the pair

    func promotion(of tracker: TrackerConfig) async -> String? {
        guard let status = await self.status(of: tracker), status["role"] == "primary" else { return nil }
        return "\(tracker.id) promoted itself (epoch \(status["epoch"] ?? "?"))"
    }

    private func restart(of tracker: TrackerConfig, replacing old: Int32) async -> String? {
        guard let pid = await self.status(of: tracker)?["pid"].flatMap({ Int32($0) }), pid != old else { return nil }
        let by = self.hosts.isRemote(tracker) ? "its service manager" : "tandemctl up"
        return "\(tracker.id) restarted by \(by) (pid \(pid))"
    }

    func steppedDown(_ tracker: TrackerConfig) async -> String? {
        guard let status = await self.status(of: tracker), status["role"] == "backup" else { return nil }
        return "\(tracker.id) stepped down to backup (epoch \(status["epoch"] ?? "?"))"
    }

    func caughtUp(_ follower: TrackerConfig, primary: TrackerConfig) async -> String? {
        guard await self.status(of: follower)?["role"] == "backup",
            let status = await self.status(of: primary), status["backup"] == "in_sync"
        else { return nil }
        return "\(follower.id) caught up: backup in sync at seq \(status["last_seq"] ?? "?")"
    }

    /// Tracker `tracker`'s `STATUS` fields, or nil when it does not answer.
    func status(of tracker: TrackerConfig) async -> [String: String]? {
        guard let connection = try? await self.context.client.connect(to: tracker) else { return nil }
        let reply = try? await connection.send(.status)
        await connection.close()
        guard case .status(let fields) = reply else { return nil }
        return Dictionary(fields.map { ($0.name, $0.value) }) { _, last in last }
    }

    /// Polls `check` until it describes what happened or `deadline` passes.
    func waitFor(
        until deadline: ContinuousClock.Instant = .now + Self.stepDeadline, kind: DrillEvent.Kind = .step,
        _ check: () async -> String?
    ) async -> DrillEvent? {
        while ContinuousClock.now < deadline {
            if let what = await check() { return DrillEvent(at: .now, what: what, kind: kind) }
            try? await Task.sleep(for: Self.pollInterval)
        }
        return nil
    }

    func waitUntil(_ check: () async -> Bool?) async {
        _ = await self.waitFor { await check() == true ? "" : nil }
    }

    /// The process id of `tracker`, from its `STATUS`. A tracker on this machine must be one `tandemctl up` runs
    /// (its `<data_dir>/tandemd.pid`), which starts it again; one on another host is taken to run under its
    /// service manager, as `scripts/deploy` installs it.
    func victimPid(_ tracker: TrackerConfig) async throws -> Int32 {
        guard let pid = await self.status(of: tracker)?["pid"].flatMap({ Int32($0) }) else {
            throw ClientError.failed("\(tracker.id) does not say its pid in STATUS; is it an older tandemd?")
        }
        if !self.hosts.isRemote(tracker) {
            let file = try? PrivateFile.read(tracker.dataDir + "/tandemd.pid")
            guard file?.trimmingCharacters(in: .whitespacesAndNewlines) == "\(pid)" else {
                throw ClientError.usage(
                    "\(tracker.id) (pid \(pid)) is not run by `tandemctl up` (no \(tracker.dataDir)/tandemd.pid of "
                        + "that pid); the drill needs the local cluster of up, which restarts a killed tracker, or "
                        + "trackers on other hosts under a service manager")
            }
        }
        return pid
    }
}

/// The drill's writers: each creates groups of fresh names, one after another, through `tandemctl`'s own
/// failover and retries, and records how each write ended.
final class DrillLoad: Sendable {
    private struct State {
        var writes: [DrillWrite] = []
        var stopped = false
    }

    private let context: CtlContext
    private let token: String
    private let prefix: String
    private let writers: Int
    /// When set, writer `i` writes to `pinned[i % count]` only, on a connection of its own, without failover.
    private let pinned: [TrackerConfig]
    private let state = Mutex(State())

    init(context: CtlContext, token: String, prefix: String, writers: Int, pinned: [TrackerConfig] = []) {
        self.context = context
        self.token = token
        self.prefix = prefix
        self.writers = writers
        self.pinned = pinned
    }

    var writes: [DrillWrite] { self.state.withLock { $0.writes } }
    var acknowledgedCount: Int { self.state.withLock { $0.writes.count { $0.outcome == .acknowledged } } }

    /// Writes until ``stop()``; returns once every writer's last write is answered.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            for writer in 0..<self.writers {
                if self.pinned.isEmpty {
                    group.addTask { await self.write(as: writer) }
                } else {
                    group.addTask { await self.write(as: writer, to: self.pinned[writer % self.pinned.count]) }
                }
            }
        }
    }

    func stop() {
        self.state.withLock { $0.stopped = true }
    }

    private func write(as writer: Int) async {
        var index = 0
        while !self.state.withLock({ $0.stopped }) {
            let name = "\(self.prefix)-w\(writer)-\(index)"
            index += 1
            let sent = ContinuousClock.now
            let outcome: DrillWrite.Outcome
            do {
                outcome = .answered(try await self.context.send(.createGroup(group: name), session: self.token))
            } catch {
                outcome = .unanswered("\(error)")
            }
            let write = DrillWrite(name: name, sent: sent, answered: .now, outcome: outcome)
            self.state.withLock { $0.writes.append(write) }
        }
    }

    /// Writes to `tracker` only: a write it does not answer is recorded so, and the next goes on a new connection.
    private func write(as writer: Int, to tracker: TrackerConfig) async {
        var connection: TrackerConnection?
        var index = 0
        while !self.state.withLock({ $0.stopped }) {
            let name = "\(self.prefix)-\(tracker.id)-w\(writer)-\(index)"
            index += 1
            let sent = ContinuousClock.now
            let outcome: DrillWrite.Outcome
            do {
                let open: TrackerConnection
                if let connection {
                    open = connection
                } else {
                    open = try await self.context.client.connect(to: tracker)
                    connection = open
                    try await ClusterClient.resume(self.token, on: open)
                }
                outcome = .answered(try await open.send(.createGroup(group: name)))
            } catch {
                outcome = .unanswered("\(error)")
                await connection?.close()
                connection = nil
                try? await Task.sleep(for: .milliseconds(50))
            }
            let write = DrillWrite(name: name, sent: sent, answered: .now, outcome: outcome, tracker: tracker.id)
            self.state.withLock { $0.writes.append(write) }
        }
        await connection?.close()
    }
}
