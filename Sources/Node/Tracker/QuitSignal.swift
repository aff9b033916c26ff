import ServiceLifecycle

/// Fired once by an authenticated QUIT; the ``QuitWatcher`` then shuts the tracker down gracefully.
final class QuitSignal: Sendable {
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() {
        (self.stream, self.continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Asks the tracker to stop.
    func fire() {
        self.continuation.yield()
        self.continuation.finish()
    }

    /// Returns when ``fire()`` was called or graceful shutdown began.
    func wait() async {
        for await _ in self.stream.cancelOnGracefulShutdown() { return }
    }
}

/// A service that returns when QUIT is received, which the service group turns into a graceful shutdown.
struct QuitWatcher: Service {
    let signal: QuitSignal

    func run() async {
        await self.signal.wait()
    }
}
