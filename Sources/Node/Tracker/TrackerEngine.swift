import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Replica
import ReplicaCore
import ServerSupport
import TandemCrypto
import Tracker
import Wire

/// Turns requests into replies: reads from the state at once, logs writes durably, hashes passwords on a thread
/// pool. Every future it returns completes on the event loop it was given, so a connection handler needs no hops.
struct TrackerEngine: Sendable, CustomStringConvertible {
    /// A reply and the connection's session after the request (LOGIN, RESUME and LOGOUT change it).
    struct Outcome: Sendable {
        var reply: Reply
        var session: ConnectionSession
    }

    /// PBKDF2 work factor for new passwords.
    static let passwordIterations: UInt32 = 100_000
    static let saltLength = 16
    /// Session tokens: 32 random bytes, 256 bits.
    static let tokenLength = 32

    let store: ReplicatedStateMachine<TrackerState>
    /// Where the store keeps its log, read for `READ_LOG`.
    let dataDirectory: DataDirectory
    /// This tracker's id in cluster.yaml, for `STATUS`.
    let trackerID: String
    let secret: [UInt8]
    let threadPool: NIOThreadPool
    let quit: QuitSignal
    let logger: Logger
    /// Refused admin commands are logged at most every 10 s: anyone can send them.
    let adminRefusals = LogThrottle()
    /// What each user may hold, checked as requests are prepared.
    let quotas: Quotas
    /// Accounts registered per client address in the last hour.
    let registrations: NIOLockedValueBox<RegistrationWindow>
    /// Requests, their latency and the open connections, for the metrics port.
    let metrics: TrackerMetrics

    /// Never the secret.
    var description: String { "TrackerEngine(seq: \(self.store.lastSeq))" }

    /// Answers `request`, numbered `requestID` by a binary client, for the connection in `session`.
    func handle(
        _ request: Request, requestID: UInt32, session: ConnectionSession, on loop: any EventLoop
    ) -> EventLoopFuture<Outcome> {
        let context = RequestContext(session: session.token, peerHost: session.peerHost, quotas: self.quotas)
        // Only binary requests are numbered: a text line has no request id, so text writes are not deduplicated.
        let client = session.format == .binary ? session.client : nil
        let (preparation, numberUsed) = self.store.read { state in
            let numberUsed = client.map { state.remembers(client: $0.key, request: UInt64(requestID)) } ?? false
            return (state.prepare(request, context: context), numberUsed)
        }
        // The request's digest (an HMAC) is made, outside the state's lock, only for what the retry table is
        // consulted or written for: a request whose number it holds, and a write.
        let origin: RequestOrigin?
        do {
            origin =
                numberUsed || preparation.proposes
                ? try client?.origin(of: request, number: requestID, session: session.token) : nil
        } catch {
            return loop.makeSucceededFuture(Outcome(reply: .error(.unavailable, "\(error)"), session: session))
        }
        let remembered = numberUsed ? origin.flatMap { origin in self.store.read { $0.remembered(for: origin) } } : nil
        // A LOGIN is answered only once its password is checked again; a retry then gets its first reply from
        // the op log, which applies it once.
        switch request.checksPassword ? nil : remembered {
        case .reply(let reply):
            // A retry of a write that was applied: its first reply, and the session it made.
            return loop.makeSucceededFuture(Self.outcome(of: request, reply: reply, session: session))
        case .otherRequest(let refusal):
            return loop.makeSucceededFuture(Outcome(reply: refusal, session: session))
        case nil:
            break
        }
        switch preparation {
        case .reply(let reply):
            return loop.makeSucceededFuture(Self.outcome(of: request, reply: reply, session: session))
        case .write(let op):
            return self.propose(op, origin: origin, on: loop).map {
                Self.outcome(of: request, reply: $0, session: session)
            }
        case .hashNewPassword(let user, let password):
            if let refusal = self.refuseRegistration(from: session.peerHost) {
                return loop.makeSucceededFuture(Outcome(reply: refusal, session: session))
            }
            return self.createUser(user, password: password, origin: origin, on: loop).map {
                Outcome(reply: $0, session: session)
            }
        case .verifyPassword(let user, let password, let stored):
            return self.login(user, password: password, stored: stored, origin: origin, session: session, on: loop)
        case .admin(let action, let mac):
            var session = session
            if let refusal = self.checkAdmin(action, mac: mac, session: &session) {
                return loop.makeSucceededFuture(Outcome(reply: refusal, session: session))
            }
            return self.run(action, session: session, on: loop).map { [session] in Outcome(reply: $0, session: session)
            }
        case .shell(.identify(let client)):
            var session = session
            do {
                session.client = try ClientIdentity(secret: client)
            } catch {
                return loop.makeSucceededFuture(Outcome(reply: .error(.unavailable, "\(error)"), session: session))
            }
            return loop.makeSucceededFuture(Outcome(reply: .ok, session: session))
        case .shell:
            return loop.makeSucceededFuture(Outcome(reply: .status(self.statusFields()), session: session))
        }
    }

    /// The reply, and the session as `request` leaves it.
    private static func outcome(of request: Request, reply: Reply, session: ConnectionSession) -> Outcome {
        Outcome(reply: reply, session: session.after(request, replied: reply))
    }

    /// What `STATUS` answers: this tracker's place in the pair.
    private func statusFields() -> [StatusField] {
        let status = self.store.status
        var fields = [
            StatusField("tracker", self.trackerID), StatusField("role", "\(status.role)"),
            StatusField("epoch", "\(status.epoch)"), StatusField("last_seq", "\(status.last.seq)"),
            StatusField("durable_seq", "\(status.durableSeq)"), StatusField("commit_seq", "\(status.commitSeq)"),
            StatusField("applied_seq", "\(status.appliedSeq)"),
            StatusField("peer", status.peerConnected ? "connected" : "disconnected"),
            StatusField("role_since", ISO8601DateFormatter().string(from: status.roleSince)),
            StatusField("pid", "\(getpid())"),
        ]
        if status.role == .primary {
            // Commits wait for an in-sync backup even while its connection is down; one that is neither in sync
            // nor connected is not there.
            let present = status.backupInSync || (status.backupMatch != nil && status.peerConnected)
            fields.append(StatusField("backup", status.backupInSync ? "in_sync" : present ? "catching_up" : "none"))
            if present, let match = status.backupMatch {
                fields.append(StatusField("backup_lag_ops", "\(status.last.seq - min(match, status.last.seq))"))
                if let bytes = status.backupLagBytes { fields.append(StatusField("backup_lag_bytes", "\(bytes)")) }
            }
        }
        if status.role == .backup { fields.append(StatusField("in_sync", status.countedInSync ? "yes" : "no")) }
        if let reason = status.standbyReason, status.role != .primary {
            fields.append(StatusField("reason", reason))
        }
        if status.handingOver { fields.append(StatusField("switchover", "handing_over")) }
        if let failure = status.lastHandOverFailure { fields.append(StatusField("switchover_failed", failure)) }
        fields += self.metrics.tally.statusFields.map { StatusField($0.name, $0.value) }
        return fields
    }

    /// How long the first retry of a session close that could not be logged waits; each next one waits twice as
    /// long, up to ``sessionCloseRetryLimit``.
    static let sessionCloseRetryDelay = TimeAmount.milliseconds(250)
    static let sessionCloseRetryLimit = TimeAmount.seconds(10)

    /// Ends a session that lives only as long as its connection. A close that cannot be logged now (a full disk,
    /// a failover) is retried on `loop` until it is, or the tracker stops: a text session must not outlive its
    /// connection.
    func connectionClosed(_ session: ConnectionSession, on loop: any EventLoop) {
        guard session.endsWithConnection, let token = session.token else { return }
        self.closeSession(token, on: loop, retryingAfter: Self.sessionCloseRetryDelay)
    }

    private func closeSession(_ token: String, on loop: any EventLoop, retryingAfter delay: TimeAmount) {
        self.store.propose(Self.stamped(.closeSession(token: token))) { [self] result in
            guard case .failure(let error) = result, error != .closed else { return }
            if delay == Self.sessionCloseRetryDelay {
                self.logger.warning(
                    "could not end a session with its connection; retrying", metadata: ["error": "\(error)"])
            }
            loop.scheduleTask(in: delay) {
                self.closeSession(
                    token, on: loop, retryingAfter: min(delay * 2, Self.sessionCloseRetryLimit))
            }
        }
    }

    /// `op` stamped with this tracker's clock, for `tandemctl log`.
    private static func stamped(_ op: TrackerOp) -> TrackerOp {
        .stamped(at: UInt64(max(0, Date().timeIntervalSince1970 * 1000)), op)
    }

    /// Proposes `op`, numbered by `origin` when the client numbers its writes, and stamped with the time.
    private func propose(_ op: TrackerOp, origin: RequestOrigin?, on loop: any EventLoop) -> EventLoopFuture<Reply> {
        self.store.propose(Self.stamped(origin.map { .identified($0, op) } ?? op), on: loop).recover { [logger] error in
            logger.error("write not logged", metadata: ["error": "\(error)"])
            return Reply(writeFailure: error)
        }
    }

    /// The refusal of one more account from `address`, when it registered its quota in the last hour.
    private func refuseRegistration(from address: String) -> Reply? {
        let now = ContinuousClock.now
        return self.registrations.withLockedValue { window -> Reply? in
            guard !window.admit(address, now: now) else { return nil }
            let wait = window.nextAllowed(address, now: now).map { Int($0.components.seconds / 60) + 1 } ?? 60
            return .error(
                .quotaExceeded,
                "\(address) registered \(window.limit) accounts in the last hour (quotas.users_per_address_per_hour); "
                    + "try again in \(wait) minutes, or ask the operator to raise the quota")
        }
    }

    private func createUser(
        _ user: String, password: String, origin: RequestOrigin?, on loop: any EventLoop
    ) -> EventLoopFuture<Reply> {
        let salt: [UInt8]
        do {
            salt = try Crypto.randomBytes(Self.saltLength)
        } catch {
            return loop.makeSucceededFuture(.error(.unavailable, "could not salt the password: \(error)"))
        }
        return self.slowHash(password, salt: salt, iterations: Self.passwordIterations, on: loop).flatMap { hash in
            let stored = PasswordHash(salt: salt, hash: hash, iterations: Self.passwordIterations)
            return self.propose(.createUser(user: user, password: stored), origin: origin, on: loop)
        }.recover { .error(.unavailable, "could not hash the password: \($0)") }
    }

    private func login(
        _ user: String, password: String, stored: PasswordHash?, origin: RequestOrigin?, session: ConnectionSession,
        on loop: any EventLoop
    ) -> EventLoopFuture<Outcome> {
        // An unknown user costs the same time as a known one, so timing does not tell which names exist.
        let reference =
            stored
            ?? PasswordHash(
                salt: [UInt8](repeating: 0, count: Self.saltLength), hash: [], iterations: Self.passwordIterations)
        return self.slowHash(password, salt: reference.salt, iterations: reference.iterations, on: loop)
            .flatMap { hash -> EventLoopFuture<Outcome> in
                guard stored != nil, Crypto.constantTimeEqual(hash, reference.hash) else {
                    return loop.makeSucceededFuture(
                        Outcome(reply: .error(.authFailed, "wrong user or password"), session: session))
                }
                return self.openSession(for: user, replacing: session, origin: origin, on: loop)
            }
            .recover { Outcome(reply: .error(.unavailable, "could not check the password: \($0)"), session: session) }
    }

    /// Opens a new session for `user`; a text connection's previous session ends with it.
    private func openSession(
        for user: String, replacing session: ConnectionSession, origin: RequestOrigin?, on loop: any EventLoop
    ) -> EventLoopFuture<Outcome> {
        let token: String
        do {
            token = Hex.encode(try Crypto.randomBytes(Self.tokenLength))
        } catch {
            return loop.makeSucceededFuture(Outcome(reply: .error(.unavailable, "\(error)"), session: session))
        }
        if session.endsWithConnection, let old = session.token {
            self.store.propose(.closeSession(token: old)) { _ in }
        }
        return self.propose(.openSession(user: user, token: token), origin: origin, on: loop).map { reply in
            Self.outcome(of: .login(user: user, password: ""), reply: reply, session: session)
        }
    }

    private func slowHash(
        _ password: String, salt: [UInt8], iterations: UInt32, on loop: any EventLoop
    ) -> EventLoopFuture<[UInt8]> {
        self.threadPool.runIfActive(eventLoop: loop) {
            try Crypto.pbkdf2SHA256(password: Array(password.utf8), salt: salt, iterations: Int(iterations))
        }
    }

    /// The answer to an admin command not proven yet: a challenge, or the refusal of a wrong proof; nil once the
    /// proof is right.
    private func checkAdmin(_ action: AdminAction, mac: [UInt8]?, session: inout ConnectionSession) -> Reply? {
        let command = Self.command(action)
        guard let mac else {
            do {
                return .challenge(session.challenge(nonce: try Crypto.randomBytes(32)))
            } catch {
                return .error(.unavailable, "\(error)")
            }
        }
        guard session.answer(mac: mac, command: command, secret: self.secret) else {
            if let suppressed = self.adminRefusals.permit() {
                self.logger.warning(
                    "refused an admin command without the cluster secret",
                    metadata: [
                        "admin.command": "\(command)", "conn.peer": "\(session.peerHost)",
                        "log.suppressed": "\(suppressed)",
                    ])
            }
            return ConnectionSession.adminRefusal(command)
        }
        return nil
    }

    /// Carries out a proven admin command.
    private func run(_ action: AdminAction, session: ConnectionSession, on loop: any EventLoop)
        -> EventLoopFuture<Reply>
    {
        switch action {
        case .quit:
            self.logger.notice("QUIT received; shutting down", metadata: ["conn.peer": "\(session.peerHost)"])
            self.quit.fire()
        case .promote:
            self.logger.warning(
                "PROMOTE received: taking the primary role by force", metadata: ["conn.peer": "\(session.peerHost)"])
            self.store.forcePromote()
        case .switchover:
            self.logger.notice("SWITCHOVER received", metadata: ["conn.peer": "\(session.peerHost)"])
            return self.store.switchover().hop(to: loop).map { Reply.ok }.recover { error in
                .error(.unavailable, "\(error)")
            }
        case .readLog(let query):
            guard query.limit > 0 else {
                return loop.makeSucceededFuture(.error(.badRequest, "READ_LOG: the limit must be at least 1"))
            }
            return self.threadPool.runIfActive(eventLoop: loop) { [directory = self.dataDirectory] in
                try Self.readLog(query, in: directory)
            }.recover { error in .error(.unavailable, "cannot read the op log: \(error)") }
        }
        return loop.makeSucceededFuture(.ok)
    }

    /// The most bytes of ops one `READ_LOG` page carries (one op more at most), well under the default
    /// `max_frame` of 16 MiB.
    static let logPageBytes = 1 << 20
    /// The most ops one `READ_LOG` page carries.
    static let logPageOps = 10_000

    /// A page of the op log in `directory`, read from the disk as `tandemctl log` would on this host.
    private static func readLog(_ query: LogQuery, in directory: DataDirectory) throws(ReplicaError) -> Reply {
        let limit = min(Int(query.limit), Self.logPageOps)
        switch query.start {
        case .seq(let seq):
            return .logPage(
                try LogListing.read(directory, from: seq).page(
                    from: seq, limit: limit, maxBytes: Self.logPageBytes, in: directory)
            )
        case .after(let cursor):
            guard var tail = LogTail(directory: directory, cursor: cursor) else {
                return .error(.badRequest, "READ_LOG: offset \(cursor.offset) is past any segment")
            }
            return .logPage(try tail.page(limit: limit, maxBytes: Self.logPageBytes))
        }
    }

    /// The command name an admin action is signed with.
    private static func command(_ action: AdminAction) -> String {
        switch action {
        case .quit: "QUIT"
        case .promote: "PROMOTE"
        case .switchover: "SWITCHOVER"
        case .readLog: "READ_LOG"
        }
    }
}
