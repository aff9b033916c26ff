import Foundation
import Synchronization

/// Clients writing through `tandemctl create-group` as fast as they can, each in a loop, as the user of a `user`
/// home; it keeps the names whose write was acknowledged and the failures.
public final class WriteLoad: Sendable {
    struct State {
        var acknowledged: Set<String> = []
        var failures: [String] = []
        var stopped = false
    }

    private let state = Mutex(State())
    private let configPath: String
    private let directory: URL
    private let writers: Int
    private let done = DispatchGroup()

    /// A load of `writers` clients on `cluster`; ``start()`` starts them.
    public convenience init(cluster: TestCluster, writers: Int) {
        self.init(configPath: cluster.configPath, directory: cluster.directory, writers: writers)
    }

    /// A load of `writers` clients of the cluster file at `configPath`, logged in with the home
    /// `<directory>/user`; ``start()`` starts them.
    public init(configPath: String, directory: URL, writers: Int) {
        self.configPath = configPath
        self.directory = directory
        self.writers = writers
    }

    /// The names whose write was acknowledged so far.
    public var acknowledged: Set<String> { self.state.withLock { $0.acknowledged } }
    /// The writes that failed, with what tandemctl said.
    public var failures: [String] { self.state.withLock { $0.failures } }

    /// Starts the writers.
    public func start() {
        for writer in 0..<self.writers {
            DispatchQueue.global().async(group: self.done) {
                var index = 0
                while !self.state.withLock({ $0.stopped }) {
                    let name = "w\(writer)-\(index)"
                    index += 1
                    let arguments = [
                        "create-group", name, "--config", self.configPath, "--home",
                        self.directory.appendingPathComponent("user").path,
                    ]
                    let result = try? TestCluster.run(Binaries.tandemctl, arguments, stdin: nil, in: self.directory)
                    self.state.withLock { state in
                        if result?.status == 0 {
                            state.acknowledged.insert(name)
                        } else {
                            state.failures.append("\(name): \(result?.stderr ?? "did not run")")
                        }
                    }
                }
            }
        }
    }

    /// Stops the writers, waits for the writes in flight, and returns every acknowledged name.
    @discardableResult
    public func stop() -> Set<String> {
        self.state.withLock { $0.stopped = true }
        self.done.wait()
        return self.acknowledged
    }
}
