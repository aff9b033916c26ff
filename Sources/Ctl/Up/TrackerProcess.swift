import Cluster
import Foundation
import TrackerClient

/// One `tandemd tracker` child of `tandemctl up`: its output prefixed with `[id] `, its pid in
/// `<data_dir>/tandemd.pid` while it runs.
final class TrackerProcess: Sendable {
    /// How a child ended.
    enum Ending: Sendable {
        case exited(Int32)
        case signalled(Int32)
    }

    let tracker: TrackerConfig
    private let executable: String
    private let configPath: String
    private let process: Process
    private let endings: AsyncStream<Ending>
    private let ended: AsyncStream<Ending>.Continuation

    var pidFile: String { self.tracker.dataDir + "/tandemd.pid" }

    init(tracker: TrackerConfig, executable: String, configPath: String) {
        self.tracker = tracker
        self.executable = executable
        self.configPath = configPath
        self.process = Process()
        self.process.executableURL = URL(fileURLWithPath: executable)
        self.process.arguments = ["tracker", "--config", configPath, "--id", tracker.id]
        (self.endings, self.ended) = AsyncStream.makeStream(of: Ending.self)
    }

    /// A new, unstarted child for the same tracker.
    func restarted() -> TrackerProcess {
        TrackerProcess(tracker: self.tracker, executable: self.executable, configPath: self.configPath)
    }

    /// The child's process id, once started.
    var pid: Int32 { self.process.processIdentifier }

    /// Starts the child and writes its pid file.
    func start() throws(ClientError) {
        let stdout = Pipe()
        let stderr = Pipe()
        self.process.standardOutput = stdout
        self.process.standardError = stderr
        self.process.standardInput = FileHandle.nullDevice
        LinePrefixer(prefix: "[\(self.tracker.id)] ", output: .standardOutput).forward(stdout)
        LinePrefixer(prefix: "[\(self.tracker.id)] ", output: .standardError).forward(stderr)
        let ended = self.ended
        self.process.terminationHandler = { process in
            let ending: Ending =
                process.terminationReason == .uncaughtSignal
                ? .signalled(process.terminationStatus) : .exited(process.terminationStatus)
            ended.yield(ending)
            ended.finish()
        }
        // The child inherits the signal mask of the spawning thread, and Dispatch's threads block most signals:
        // spawn with none blocked, or the tracker could not be stopped with SIGINT or SIGTERM.
        var unblocked = sigset_t()
        var saved = sigset_t()
        sigemptyset(&unblocked)
        pthread_sigmask(SIG_SETMASK, &unblocked, &saved)
        defer { pthread_sigmask(SIG_SETMASK, &saved, nil) }
        do {
            try self.process.run()
        } catch {
            throw .failed(
                "cannot start \(self.process.executableURL?.path ?? "tandemd"): \(error.localizedDescription)")
        }
        try PrivateFile.write("\(self.pid)\n", to: self.pidFile)
    }

    /// Sends `signal` to the child if it still runs.
    func send(_ signal: Int32) {
        if self.process.isRunning { kill(self.pid, signal) }
    }

    /// Waits for the child to end, then removes its pid file.
    func waitForEnding() async -> Ending {
        var ending = Ending.exited(0)
        for await value in self.endings { ending = value }
        if (try? PrivateFile.read(self.pidFile))?.trimmingCharacters(in: .whitespacesAndNewlines) == String(self.pid) {
            try? PrivateFile.remove(self.pidFile)
        }
        return ending
    }
}
