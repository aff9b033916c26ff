import Cluster
import Foundation
import TandemCrypto

/// Runs the trackers of `cluster.yaml` that live on this machine, in the foreground, until they all stop.
struct LocalCluster {
    let config: ClusterConfig
    /// The absolute path handed to each `tandemd tracker --config`.
    let configPath: String

    /// The trackers whose host is this machine, in `cluster.yaml` order.
    var localTrackers: [TrackerConfig] { self.config.trackers.filter { LocalHost.isLocal($0.host) } }

    /// Creates the secret file when missing: 32 random bytes in hex and a newline, mode 0600.
    func ensureSecret() throws(CtlError) {
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
    /// - Throws: ``CtlError/failed(_:)`` when a tracker could not start or ended with an error.
    func run() async throws {
        let trackers = self.localTrackers
        guard !trackers.isEmpty else {
            let hosts = self.config.trackers.map { "\($0.id) on \($0.host)" }.joined(separator: ", ")
            throw CtlError.usage("no tracker of \(self.configPath) runs on this machine (\(hosts))")
        }
        guard let tandemd = TandemdLocator.find() else {
            throw CtlError.failed("tandemd not found in \(TandemdLocator.searched); build it with `swift build`")
        }
        try self.ensureSecret()
        for tracker in trackers { try PrivateFile.makeDirectory(tracker.dataDir) }

        let children = trackers.map { TrackerProcess(tracker: $0, executable: tandemd, configPath: self.configPath) }
        let stopSignal = StopSignal()
        let forwarder = SignalForwarder { number in
            stopSignal.set(number)
            for child in children { child.send(number) }
        }
        defer { forwarder.cancel() }

        var failures: [String] = []
        var started: [TrackerProcess] = []
        for child in children {
            do {
                try child.start()
                started.append(child)
                let tracker = child.tracker
                let clients = "\(tracker.host):\(tracker.clientPort)"
                Console.error("[up] started \(tracker.id) (pid \(child.pid)), clients on \(clients)")
            } catch {
                failures.append(error.description)
                for running in started { running.send(SIGTERM) }
                break
            }
        }
        failures += await Self.waitForAll(started, stopSignal: stopSignal)
        guard failures.isEmpty else { throw CtlError.failed(failures.joined(separator: "; ")) }
    }

    /// Waits for every child; returns one message per child that ended with an error.
    private static func waitForAll(_ children: [TrackerProcess], stopSignal: StopSignal) async -> [String] {
        await withTaskGroup(of: String?.self) { group in
            for child in children {
                group.addTask {
                    let ending = await child.waitForEnding()
                    let id = child.tracker.id
                    switch ending {
                    case .exited(0):
                        Console.error("[up] \(id) stopped")
                        return nil
                    case .signalled(let number) where number == stopSignal.value:
                        Console.error("[up] \(id) stopped on signal \(number)")
                        return nil
                    case .exited(let status):
                        Console.error("[up] \(id) exited with status \(status)")
                        return "\(id) exited with status \(status)"
                    case .signalled(let number):
                        Console.error("[up] \(id) was killed by signal \(number)")
                        return "\(id) was killed by signal \(number)"
                    }
                }
            }
            var failures: [String] = []
            for await failure in group { if let failure { failures.append(failure) } }
            return failures
        }
    }
}

/// The signal `up` was asked to stop with, shared between the signal handler and the waiters.
final class StopSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var number: Int32?

    var value: Int32? { self.lock.withLock { self.number } }

    func set(_ number: Int32) { self.lock.withLock { self.number = number } }
}
