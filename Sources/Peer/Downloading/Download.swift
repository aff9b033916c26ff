import Logging
import NIOCore
import PeerControl
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
    let metrics: PeerMetrics
    /// Called on completion with the file's new home and what it is there, to share it from there.
    let completed: @Sendable (DownloadRecord, FileIdentity) -> Void
}

/// One download: the shell around ``Swarm/DownloadCore`` on one event loop, which all its connections share, so
/// the core, the links and the part file are touched by one thread. The core decides (which pieces from whom,
/// bans, where the download stands, when to ask for seeders); this carries it out: the peers
/// (`Download+Peers.swift`), the tracker (`Download+Tracker.swift`), the end (`Download+Finish.swift`).
///
/// Pieces are written at their offsets into the preallocated part file and hashed as they arrive; verified ones
/// are served to others at once.
final class Download: @unchecked Sendable {
    let record: DownloadRecord
    let layout: PieceLayout
    let loop: any EventLoop
    let part: PieceFile
    let hello: PeerHello

    let environment: DownloadEnvironment
    let hashes: PieceHashes
    let served: ServedFile
    let started = ContinuousClock.now
    var core: DownloadCore
    var links: [PeerID: PeerLink] = [:]
    var connecting: [PeerAddress: PeerID] = [:]
    /// Where peers may be found, and when to dial them: bounded, whatever serving peers say.
    var candidates = PeerCandidates<PeerAddress>()
    /// Addresses that could not be reached, logged once each.
    var unreachable: Set<PeerAddress> = []
    /// Serving peers whose peer lists were cut, logged once each.
    var overlong: Set<PeerID> = []
    var nextPeer: PeerID = 1
    /// What went wrong, or what the download waits for.
    var message: String?
    var haveDirty = false
    /// Runs the core's clock while the download is under way (it counts as active meanwhile).
    var ticker: RepeatedTask?
    /// The address of the first seeder the tracker listed, and the verified bytes from it and from everyone else.
    var firstSeeder: String?
    var bytesFromFirstSeeder = 0
    var bytesFromOthers = 0
    var lookingForSeeders = false
    /// Who waits for the download to end, each with the timer that answers it sooner.
    private var waiters: [Int: (promise: EventLoopPromise<DownloadStatus>, timer: Scheduled<Void>)] = [:]
    private var nextWaiter = 0
    private var rate = RateMeter(window: .seconds(5))
    let scratch: UnsafeMutableRawBufferPointer

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
        self.ticker = self.loop.scheduleRepeatedTask(initialDelay: tick, delay: tick) { [weak self] _ in self?.tick() }
        self.environment.metrics.activeDownloads.increment()
        self.pollSeeders()
    }

    /// Stops every connection and timer (the daemon is stopping, or the download failed); the verified pieces are
    /// saved, and whoever waits for the end is answered.
    func stop() {
        self.loop.preconditionInEventLoop()
        self.saveHave()
        self.stopTicking()
        for link in self.links.values { link.close() }
        self.wakeWaiters()
    }

    /// Pauses the download, or ends it for good when `cancelled`: its connections close, its verified pieces are
    /// saved, and its part file is no longer served.
    func halt(cancelled: Bool) {
        self.loop.preconditionInEventLoop()
        self.core.pause()
        self.stop()
        let reason = cancelled ? "was cancelled" : "is paused"
        self.environment.library.remove(self.record.fileID, in: self.record.group)?.disconnectAll(
            "\(self.record.name) \(reason) on this peer")
    }

    /// The status once the download is complete or failed, or after `limit`, whichever comes first.
    func statusWhenEnded(within limit: TimeAmount) -> EventLoopFuture<DownloadStatus> {
        self.loop.preconditionInEventLoop()
        guard self.core.state.isRunning else { return self.loop.makeSucceededFuture(self.status) }
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

    /// Stops the core's clock: the download is no longer under way.
    func stopTicking() {
        guard let ticker = self.ticker else { return }
        ticker.cancel()
        self.ticker = nil
        self.environment.metrics.activeDownloads.decrement()
    }

    /// Answers everyone waiting for the end.
    func wakeWaiters() {
        let waiters = self.waiters.values
        self.waiters = [:]
        for waiter in waiters {
            waiter.timer.cancel()
            waiter.promise.succeed(self.status)
        }
    }

    /// Where the download stands; one that ended has no rate.
    var status: DownloadStatus {
        let bytes = self.verifiedBytes
        let rate = self.core.state.isRunning ? self.rate.bytesPerSecond : 0
        let remaining = self.record.size - bytes
        return DownloadStatus(
            group: self.record.group, name: self.record.name, fileID: self.record.fileID, target: self.record.target,
            state: self.core.state, size: self.record.size, bytesDone: bytes, piecesDone: self.core.have.setCount,
            pieces: self.layout.pieceCount, rate: rate, peers: self.links.count,
            eta: rate > 0 ? Double(remaining) / rate : (remaining == 0 ? 0 : nil), message: self.message)
    }

    private func tick() {
        self.perform(self.core.tick(now: self.now))
        self.dialMore()
        self.rate.record(self.verifiedBytes, at: self.now)
        if self.haveDirty { self.saveHave() }
        self.pollSeeders()
    }

    // MARK: Figures

    var now: Duration { ContinuousClock.now - self.started }

    private var verifiedBytes: UInt64 {
        let pieces = UInt64(self.core.have.setCount)
        guard pieces > 0 else { return 0 }
        let last = self.layout.pieceCount - 1
        let full = UInt64(self.layout.pieceSize)
        return self.core.have[last]
            ? (pieces - 1) * full + UInt64(self.layout.length(of: last)) : pieces * full
    }
}
