import Cluster
import Foundation
import TandemCrypto
import TrackerClient
import Wire

/// Runs the trackers of `cluster.yaml` that live on this machine, in the foreground, until they all stop.
struct LocalCluster {
    let config: ClusterConfig
    /// The absolute path handed to each `tandemd tracker --config`.
    let configPath: String

    /// The trackers whose host is this machine, in `cluster.yaml` order.
    var localTrackers: [TrackerConfig] { self.config.trackers.filter { LocalHost.isLocal($0.host) } }

    /// Creates the secret file when missing: 32 random bytes in hex and a newline, mode 0600.
    func ensureSecret() throws(ClientError) {
        guard !FileManager.default.fileExists(atPath: self.config.secretFile) else { return }
        let bytes: [UInt8]
        do {
            bytes = try Crypto.randomBytes(32)
        } catch {
            throw .failed(error.description)
        }
        try PrivateFile.makeDirectory((self.config.secretFile as NSString).deletingLastPathComponent)
        try PrivateFile.create(self.config.secretFile, contents: Hex.encode(bytes) + "\n", exclusive: true)
        Console.error("[up] created the cluster secret in \(self.config.secretFile)")
    }

    /// Starts every local tracker, forwards SIGINT and SIGTERM to them and waits until all have stopped.
    ///
    /// A tracker killed by a signal `up` did not pass on (kill -9, the OOM killer, a drill) is started again
    /// after ``restartDelay``, as a service manager would: long enough for the other tracker to notice and take
    /// over first. One that exits by itself is not restarted; its status is reported.
    ///
    /// - Throws: ``ClientError/failed(_:)`` when a tracker could not start or ended with an error.
    func run() async throws {
        let trackers = self.localTrackers
        guard !trackers.isEmpty else {
            let hosts = self.config.trackers.map { "\($0.id) on \($0.host)" }.joined(separator: ", ")
            throw ClientError.usage("no tracker of \(self.configPath) runs on this machine (\(hosts))")
        }
        guard let tandemd = TandemdLocator.find() else {
            throw ClientError.failed("tandemd not found in \(TandemdLocator.searched); build it with `swift build`")
        }
        try self.ensureSecret()
        for tracker in trackers { try PrivateFile.makeDirectory(tracker.dataDir) }

        let running = RunningTrackers()
        let forwarder = SignalForwarder { number in
            running.stop(with: number)
        }
        defer { forwarder.cancel() }

        var failures: [String] = []
        var started: [TrackerProcess] = []
        for tracker in trackers {
            let child = TrackerProcess(tracker: tracker, executable: tandemd, configPath: self.configPath)
            do {
                try running.start(child)
                started.append(child)
            } catch {
                failures.append(error.description)
                running.stop(with: SIGTERM)
                break
            }
        }
        let restartDelay = self.restartDelay
        failures += await withTaskGroup(of: String?.self) { group in
            for child in started {
                group.addTask { await Self.supervise(child, running: running, restartDelay: restartDelay) }
            }
            var failures: [String] = []
            for await failure in group { if let failure { failures.append(failure) } }
            return failures
        }
        guard failures.isEmpty else { throw ClientError.failed(failures.joined(separator: "; ")) }
    }

    /// How long a killed tracker stays down before `up` starts it again: twice the failover timeout.
    var restartDelay: Duration { self.config.replication.failoverTimeout * 2 }

    /// How many restarts of one tracker `up` makes within ``restartWindow`` before it gives up: a tracker that
    /// dies on a signal as it starts (a trap on damaged data) is reported, not restarted forever.
    static let restartLimit = 5
    /// A minute.
    static let restartWindow = Duration.seconds(60)

    /// Waits for `child` to end, restarting it while it is killed by signals `up` did not send; returns a
    /// message when it ended with an error.
    private static func supervise(
        _ child: TrackerProcess, running: RunningTrackers, restartDelay: Duration
    ) async -> String? {
        var child = child
        var restarts: [ContinuousClock.Instant] = []
        while true {
            let ending = await child.waitForEnding()
            let id = child.tracker.id
            let stopSignal = running.stopSignal
            switch ending {
            case .exited(0):
                Console.error("[up] \(id) stopped")
                return nil
            case .signalled(let number) where number == stopSignal:
                Console.error("[up] \(id) stopped on signal \(number)")
                return nil
            case .exited(let status):
                Console.error("[up] \(id) exited with status \(status)")
                return "\(id) exited with status \(status)"
            case .signalled(let number) where stopSignal != nil:
                Console.error("[up] \(id) was killed by signal \(number)")
                return "\(id) was killed by signal \(number)"
            case .signalled(let number)
            where restarts.filter({ $0 > .now - Self.restartWindow }).count >= Self.restartLimit:
                let failure = "\(id) was killed by signal \(number) after \(Self.restartLimit) restarts within a minute"
                Console.error("[up] \(failure); not starting it again: see its output above")
                return failure
            case .signalled(let number):
                restarts.append(.now)
                Console.error("[up] \(id) was killed by signal \(number); starting it again in \(restartDelay)")
                try? await Task.sleep(for: restartDelay)
                let next = child.restarted()
                do {
                    guard try running.start(next) else { return nil }
                } catch {
                    return error.description
                }
                child = next
            }
        }
    }
}

/// The trackers `up` runs now, and the signal it was asked to stop with: shared between the signal handler,
/// which passes the signal on to each, and the supervisors, which replace a killed one.
final class RunningTrackers: @unchecked Sendable {
    private let lock = NSLock()
    private var children: [String: TrackerProcess] = [:]
    private var number: Int32?

    /// The signal `up` was asked to stop with, once it was.
    var stopSignal: Int32? { self.lock.withLock { self.number } }

    /// Starts `child` in place of any earlier process of its tracker, unless `up` is stopping; returns whether
    /// it started.
    @discardableResult
    func start(_ child: TrackerProcess) throws(ClientError) -> Bool {
        self.lock.lock()
        defer { self.lock.unlock() }
        guard self.number == nil else { return false }
        try child.start()
        self.children[child.tracker.id] = child
        let tracker = child.tracker
        Console.error("[up] started \(tracker.id) (pid \(child.pid)), clients on \(tracker.host):\(tracker.clientPort)")
        return true
    }

    /// Passes `signal` on to every running tracker; none is started after this.
    func stop(with signal: Int32) {
        let children = self.lock.withLock { () -> [TrackerProcess] in
            self.number = self.number ?? signal
            return Array(self.children.values)
        }
        for child in children { child.send(signal) }
    }
}
