import Foundation
import Logging
import NIOCore
import NIOPosix
import Swarm
import TandemCrypto
import TrackerClient
import Wire

/// What a download needs from its daemon.
struct DownloadEnvironment: Sendable {
    let client: ClusterClient
    let token: String
    let user: String
    let listenPort: UInt16
    let library: Library
    let store: PeerStore
    let policy: DownloadPolicy
    let logger: Logger
    /// Called on completion with the file's new home and what it is there, to share it from there.
    let completed: @Sendable (DownloadRecord, FileIdentity) -> Void
}

/// One download: the shell around ``Swarm/DownloadCore`` on one event loop, which all its connections share, so
/// the core, the links and the part file are touched by one thread. Pieces are written at their offsets into
/// the preallocated part file and hashed as they arrive; verified ones are served to others at once.
final class Download: @unchecked Sendable {
    let record: DownloadRecord
    let layout: PieceLayout
    let loop: any EventLoop
    let part: PieceFile
    let hello: PeerHello
    /// Control frames from a serving peer are small; the welcome's bitfield is the largest.
    let maxControlFrame: Int

    private let environment: DownloadEnvironment
    private let hashes: PieceHashes
    private let served: ServedFile
    private let started = ContinuousClock.now
    private var core: DownloadCore
    private var links: [PeerID: PeerLink] = [:]
    private var connecting: [PeerAddress: PeerID] = [:]
    private var banned: Set<PeerAddress> = []
    /// Where peers may be found, and when to dial them: bounded, whatever serving peers say.
    private var candidates = PeerCandidates<PeerAddress>()
    /// Addresses that could not be reached, logged once each.
    private var unreachable: Set<PeerAddress> = []
    /// Serving peers whose peer lists were cut, logged once each.
    private var overlong: Set<PeerID> = []
    private var nextPeer: PeerID = 1
    private var state = "downloading"
    private var message: String?
    private var haveDirty = false
    private var timers: [RepeatedTask] = []
    private var lookingForSeeders = false
    /// Who waits for the download to end, each with the timer that answers it sooner.
    private var waiters: [Int: (promise: EventLoopPromise<DownloadStatus>, timer: Scheduled<Void>)] = [:]
    private var nextWaiter = 0
    /// (time, verified bytes) once per tick, for the rate.
    private var samples: [(Duration, UInt64)] = []
    private var scratch: UnsafeMutableRawBufferPointer

    init(
        record: DownloadRecord, hashes: PieceHashes, have: Bitfield, part: PieceFile, loop: any EventLoop,
        environment: DownloadEnvironment
    ) {
        self.record = record
        self.layout = record.layout
        self.hashes = hashes
        self.part = part
        self.loop = loop
        self.environment = environment
        var random = SystemRandomNumberGenerator()
        self.core = DownloadCore(layout: record.layout, have: have, policy: environment.policy, random: &random)
        let fileID = Hex.decode(Substring(record.fileID)) ?? []
        self.hello = PeerHello(
            fileID: fileID, group: record.group, user: environment.user,
            proof: PeerProof.make(token: environment.token, group: record.group), listenPort: environment.listenPort)
        self.maxControlFrame = 64 << 10 + record.layout.pieceCount / 8
        self.served = ServedFile(
            fileID: fileID, group: record.group, name: record.name, layout: record.layout, source: .part(part),
            present: have)
        self.scratch = .allocate(byteCount: record.pieceSize, alignment: 4096)
    }

    deinit {
        self.scratch.deallocate()
    }

    // MARK: Life

    /// Starts serving the verified pieces, asks the tracker for seeders and connects to them.
    func start() {
        self.loop.preconditionInEventLoop()
        self.environment.library.add(self.served)
        if self.core.isComplete { return self.finish() }
        let tick = TimeAmount.milliseconds(250)
        self.timers.append(
            self.loop.scheduleRepeatedTask(initialDelay: tick, delay: tick) { [weak self] _ in self?.tick() })
        let poll = TimeAmount.seconds(2)
        self.timers.append(
            self.loop.scheduleRepeatedTask(initialDelay: poll, delay: poll) { [weak self] _ in self?.pollSeeders() })
        self.findSeeders()
    }

    /// Stops every connection and timer (the daemon is stopping, or the download failed); the verified pieces are
    /// saved, and whoever waits for the end is answered.
    func stop() {
        self.loop.preconditionInEventLoop()
        self.saveHave()
        for timer in self.timers { timer.cancel() }
        self.timers = []
        for link in self.links.values { link.close() }
        self.wakeWaiters()
    }

    /// The status once the download is complete or failed, or after `limit`, whichever comes first.
    func statusWhenEnded(within limit: TimeAmount) -> EventLoopFuture<DownloadStatus> {
        self.loop.preconditionInEventLoop()
        guard !self.hasEnded else { return self.loop.makeSucceededFuture(self.status) }
        let promise = self.loop.makePromise(of: DownloadStatus.self)
        self.nextWaiter += 1
        let key = self.nextWaiter
        let timer = self.loop.scheduleTask(in: limit) { [weak self] in
            guard let self, let waiter = self.waiters.removeValue(forKey: key) else { return }
            waiter.promise.succeed(self.status)
        }
        self.waiters[key] = (promise, timer)
        return promise.futureResult
    }

    private var hasEnded: Bool { self.state == "complete" || self.state == "failed" }

    /// Answers everyone waiting for the end.
    private func wakeWaiters() {
        let waiters = self.waiters.values
        self.waiters = [:]
        for waiter in waiters {
            waiter.timer.cancel()
            waiter.promise.succeed(self.status)
        }
    }

    /// Where the download stands.
    var status: DownloadStatus {
        let bytes = self.verifiedBytes
        let rate = self.rate
        let remaining = self.record.size - bytes
        return DownloadStatus(
            group: self.record.group, name: self.record.name, fileID: self.record.fileID, target: self.record.target,
            state: self.state, size: self.record.size, bytesDone: bytes, piecesDone: self.core.have.setCount,
            pieces: self.layout.pieceCount, rate: rate, peers: self.links.count,
            eta: rate > 0 ? Double(remaining) / rate : (remaining == 0 ? 0 : nil), message: self.message)
    }

    // MARK: From the links

    /// The range of a whole piece, what this downloader asks for.
    func wholePiece(_ piece: Int) -> PieceRange {
        PieceRange(piece: UInt32(piece), offset: 0, length: UInt32(self.layout.length(of: piece)))
    }

    func accepts(_ piece: Int, from peer: PeerID) -> Bool {
        self.core.accepts(piece, from: peer)
    }

    func progress(from peer: PeerID) {
        self.core.progress(peer, now: self.now)
    }

    func linkWelcomed(_ peer: PeerID, has: Bitfield, peers: [PeerAddress]) {
        if self.state == "waiting" {
            self.state = "downloading"
            self.message = nil
        }
        self.perform(self.core.peerJoined(peer, has: has, now: self.now))
        self.exchanged(peers, from: peer)
    }

    func linkHas(_ peer: PeerID, piece: Int) {
        self.perform(self.core.peerHas(peer, piece: piece, now: self.now))
    }

    func linkLacks(_ peer: PeerID, piece: Int) {
        self.perform(self.core.pieceFailed(piece, from: peer, blame: false, now: self.now))
    }

    /// A piece's bytes all arrived from `peer`, with the SHA1 of the stream.
    func linkDelivered(_ peer: PeerID, piece: Int, digest: [UInt8]) {
        let expected = Array(self.hashes[piece])
        guard digest == expected else {
            let address = self.links[peer].map { "\($0.address.host):\($0.address.port)" } ?? "a peer"
            self.environment.logger.warning("piece \(piece) of \(self.record.name) from \(address) failed its SHA1")
            return self.perform(self.core.pieceFailed(piece, from: peer, now: self.now))
        }
        if self.core.isContended(piece) {
            // Two peers wrote this piece: check what the disk holds.
            guard (try? self.part.digest(of: piece, layout: self.layout, buffer: self.scratch)) == expected else {
                return self.perform(self.core.pieceCorrupted(piece, now: self.now))
            }
        }
        self.perform(self.core.pieceVerified(piece, from: peer, now: self.now))
    }

    func linkFailed(_ peer: PeerID, _ reason: String) {
        guard let link = self.links[peer] else { return }
        self.environment.logger.info(
            "peer \(link.address.host):\(link.address.port) for \(self.record.name): \(reason)")
        if reason.contains("refused:") { self.message = reason }
    }

    func linkClosed(_ peer: PeerID) {
        guard let link = self.links.removeValue(forKey: peer) else { return }
        self.connecting[link.address] = nil
        self.candidates.failed(link.address, now: self.now)
        self.perform(self.core.peerLeft(peer, now: self.now))
    }

    func diskFailed(_ error: PeerError) {
        self.fail(error.description + "; the part file keeps the verified pieces: run the download again to resume")
    }

    /// Addresses serving peer `peer` named (peer exchange): kept within the bounds of ``PeerCandidates``, and
    /// dialed a few at a time.
    func exchanged(_ addresses: [PeerAddress], from peer: PeerID) {
        let dropped = self.candidates.exchanged(addresses, from: peer)
        if dropped > 0, self.overlong.insert(peer).inserted, let link = self.links[peer] {
            self.environment.logger.warning(
                "a serving peer named more peers than a download takes from one; ignoring the rest",
                metadata: [
                    "peer.address": "\(link.address.host):\(link.address.port)", "download.name": "\(self.record.name)",
                    "peer.limit": "\(self.candidates.policy.perSource)", "peers.dropped": "\(dropped)",
                ])
        }
        self.dialMore()
    }

    /// Dials the candidates that are due, as many as may be dialed at once.
    private func dialMore() {
        guard self.state != "failed", !self.core.isComplete else { return }
        for address in self.candidates.nextToDial(now: self.now) { self.connect(to: address) }
    }

    // MARK: Actions

    private func perform(_ actions: [DownloadAction]) {
        for action in actions {
            switch action {
            case .request(let peer, let pieces):
                self.links[peer]?.request(pieces)
            case .cancel(let peer, let pieces):
                self.links[peer]?.cancel(pieces)
            case .drop(let peer, let reason):
                guard let link = self.links.removeValue(forKey: peer) else { continue }
                self.connecting[link.address] = nil
                self.candidates.failed(link.address, now: self.now)
                let who = "\(link.address.host):\(link.address.port)"
                switch reason {
                case .timedOut:
                    self.environment.logger.warning(
                        "dropped \(who) for \(self.record.name): no data within the peer timeout")
                case .badPieces(let count):
                    self.banned.insert(link.address)
                    self.candidates.forget(link.address)
                    self.environment.logger.warning(
                        "dropped and banned \(who) for \(self.record.name): \(count) pieces failed their SHA1")
                }
                link.close()
            case .verified(let piece):
                self.served.add(piece)
                self.haveDirty = true
                self.part.startWriteback(offset: self.layout.offset(of: piece), length: self.layout.length(of: piece))
            case .completed:
                self.finish()
            case .noPeers:
                self.waitForSeeders()
            }
        }
    }

    private func waitForSeeders() {
        guard !self.core.isComplete, self.state != "failed" else { return }
        self.state = "waiting"
        self.message = self.message ?? "no peer that has the missing pieces is reachable; waiting for seeders"
    }

    // MARK: Peers

    private func connect(to address: PeerAddress) {
        guard !self.banned.contains(address), self.connecting[address] == nil else {
            self.candidates.forget(address)
            return
        }
        let id = self.nextPeer
        self.nextPeer += 1
        self.connecting[address] = id
        let link = PeerLink(id: id, address: address, download: self)
        let loopBound = NIOLoopBound(link, eventLoop: self.loop)
        ClientBootstrap(group: self.loop)
            .connectTimeout(.seconds(3))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(
                .recvAllocator,
                value: AdaptiveRecvByteBufferAllocator(minimum: 64 << 10, initial: 256 << 10, maximum: 1 << 20)
            )
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(loopBound.value)
                }
            }
            .connect(host: address.host, port: Int(address.port))
            .hop(to: self.loop)
            .whenComplete { [weak self] result in
                guard let self else { return }
                switch result {
                case .success:
                    self.links[id] = loopBound.value
                    self.candidates.connected(address)
                case .failure(let error):
                    self.connecting[address] = nil
                    self.candidates.failed(address, now: self.now)
                    if self.unreachable.insert(address).inserted {
                        self.environment.logger.info(
                            "cannot reach a peer; trying again later, with a growing back-off",
                            metadata: [
                                "peer.address": "\(address.host):\(address.port)",
                                "download.name": "\(self.record.name)", "error": "\(error)",
                            ])
                    }
                    if self.links.isEmpty { self.waitForSeeders() }
                    self.dialMore()
                }
            }
    }

    /// Asks the tracker for the file's seeders and connects to those not connected yet.
    private func findSeeders() {
        guard !self.lookingForSeeders else { return }
        self.lookingForSeeders = true
        let environment = self.environment
        let record = self.record
        let promise = self.loop.makePromise(of: [PeerAddress].self)
        promise.completeWithTask {
            let reply = try await environment.client.send(
                .downloadFile(group: record.group, name: record.name), session: environment.token)
            let info = try reply.expectFileInfo()
            guard info.fileID == record.fileID else {
                throw PeerError("\(record.name) in \(record.group) is another file now (id \(info.fileID))")
            }
            return info.seeders.filter { $0.user != environment.user }.map { PeerAddress(host: $0.host, port: $0.port) }
        }
        promise.futureResult.whenComplete { [weak self] result in
            guard let self else { return }
            self.lookingForSeeders = false
            switch result {
            case .success(let seeders):
                if seeders.isEmpty && self.links.isEmpty {
                    self.message = "no seeder is registered for \(record.name); waiting for one"
                    self.waitForSeeders()
                }
                self.candidates.listedByTracker(seeders)
                self.dialMore()
            case .failure(let error):
                self.message = "cannot ask the tracker for seeders: \(error)"
                if self.links.isEmpty { self.waitForSeeders() }
            }
        }
    }

    private func pollSeeders() {
        // While waiting, every poll; while downloading, every few polls, to find seeders that came since.
        let polls = Int((self.now / .seconds(2)).rounded())
        if self.state == "waiting" || polls % 8 == 0 { self.findSeeders() }
    }

    private func tick() {
        self.perform(self.core.tick(now: self.now))
        self.dialMore()
        self.samples.append((self.now, self.verifiedBytes))
        self.samples.removeAll { self.now - $0.0 > .seconds(5) }
        if self.haveDirty { self.saveHave() }
    }

    // MARK: End

    private func saveHave() {
        guard self.haveDirty else { return }
        self.haveDirty = false
        do {
            try self.environment.store.saveHave(self.record.fileID, self.core.have)
        } catch {
            self.environment.logger.error("\(error)")
        }
    }

    /// Every piece is verified: syncs the part file, moves it into place without replacing anything, and seeds.
    private func finish() {
        self.haveDirty = true
        self.saveHave()
        for timer in self.timers { timer.cancel() }
        self.timers = []
        for link in self.links.values { link.close() }
        let identity: FileIdentity
        do throws(PeerError) {
            try self.part.sync()
            // Never replaces a file that appeared at the target meanwhile, and moves the part file this download
            // wrote, whatever was put at its name since.
            try self.part.rename(to: self.record.target)
            identity = try self.part.identity()
        } catch {
            return self.fail(error.description)
        }
        self.state = "complete"
        self.message = nil
        self.environment.library.remove(self.record.fileID)
        self.environment.completed(self.record, identity)
        self.wakeWaiters()
    }

    private func fail(_ message: String) {
        guard self.state != "failed" else { return }
        self.environment.logger.error("download of \(self.record.name) failed: \(message)")
        self.state = "failed"
        self.message = message
        self.stop()
    }

    // MARK: Figures

    private var now: Duration { ContinuousClock.now - self.started }

    private var verifiedBytes: UInt64 {
        let pieces = UInt64(self.core.have.setCount)
        guard pieces > 0 else { return 0 }
        let last = self.layout.pieceCount - 1
        let full = UInt64(self.layout.pieceSize)
        return self.core.have[last]
            ? (pieces - 1) * full + UInt64(self.layout.length(of: last)) : pieces * full
    }

    private var rate: Double {
        guard let first = self.samples.first, let last = self.samples.last, last.0 > first.0 else { return 0 }
        let seconds =
            Double((last.0 - first.0).components.attoseconds) / 1e18 + Double((last.0 - first.0).components.seconds)
        return Double(last.1 - first.1) / seconds
    }
}
