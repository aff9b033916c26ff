import NIOCore
import NIOPosix
import Wire

/// What a benchmark run measured.
struct BenchReport {
    var operations: Int
    var seconds: Double
    var latenciesMicros: [UInt32]
    var errors: Int
    var firstError: String?
    /// What the watched processes and the client spent, as `cpu_us_per_op=…`; empty when none are watched.
    var cpu = ""

    /// `ops_per_sec=… p50_us=… p99_us=… errors=…`, for scripts.
    var line: String {
        let sorted = self.latenciesMicros.sorted()
        func percentile(_ p: Double) -> UInt32 {
            sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
        }
        let rate = Double(self.operations) / self.seconds
        return "ops_per_sec=\(Int(rate)) p50_us=\(percentile(0.50)) p99_us=\(percentile(0.99)) "
            + "errors=\(self.errors) ops=\(self.operations) \(self.cpu)"
    }
}

/// Coordinates the connections of one run; lives on one event loop, so it needs no locks.
final class BenchRun {
    enum Op { case read, write }

    let loop: any EventLoop
    let format: ClientFormat
    let op: Op
    let connections: Int
    let duration: TimeAmount
    let tag: String
    /// Stop once this many requests were measured, if that comes before the duration is over.
    let count: Int
    /// Processes whose CPU over the measured span is reported (the trackers), besides the client's own.
    let watched: [Int32]

    private var ready = 0
    private var finished = 0
    private var handlers: [BenchConnection] = []
    private var report = BenchReport(operations: 0, seconds: 0, latenciesMicros: [], errors: 0)
    private var startedAt = NIODeadline.now()
    private var cpuAtStart: CPUSample?
    private let done: EventLoopPromise<BenchReport>

    init(
        loop: any EventLoop, format: ClientFormat, op: Op, connections: Int, duration: TimeAmount, tag: String,
        count: Int = .max, watched: [Int32] = []
    ) {
        self.count = count
        self.watched = watched
        self.loop = loop
        self.format = format
        self.op = op
        self.connections = connections
        self.duration = duration
        self.tag = tag
        self.done = loop.makePromise()
        self.report.latenciesMicros.reserveCapacity(1 << 20)
    }

    /// Connects every client; the future completes with the report once the duration is over.
    func start(host: String, port: Int) -> EventLoopFuture<BenchReport> {
        for index in 0..<self.connections {
            let handler = BenchConnection(run: self, index: index)
            self.handlers.append(handler)
            let format = self.format
            ClientBootstrap(group: self.loop)
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        switch format {
                        case .binary:
                            try channel.pipeline.syncOperations.addHandler(
                                ByteToMessageHandler(ReplyFrameDecoder(maxFrame: 64 << 20)))
                        case .text:
                            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(TextReplyDecoder()))
                        }
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                }
                .connect(host: host, port: port)
                .whenFailure { self.done.fail($0) }
        }
        return self.done.futureResult
    }

    /// A connection finished its set-up; when all have, measuring starts on all of them at once.
    func connectionReady() {
        self.ready += 1
        guard self.ready == self.connections else { return }
        self.startedAt = .now()
        self.cpuAtStart = CPUSample.now(of: self.watched)
        let deadline = self.startedAt + self.duration
        for handler in self.handlers { handler.startMeasuring(until: deadline) }
    }

    /// Records one measured request.
    func record(latency: TimeAmount, error: String?) {
        self.report.operations += 1
        self.report.latenciesMicros.append(UInt32(clamping: latency.nanoseconds / 1000))
        if self.report.operations == self.count {
            for handler in self.handlers { handler.stopMeasuring() }
        }
        if let error {
            self.report.errors += 1
            if self.report.firstError == nil { self.report.firstError = error }
        }
    }

    /// A connection stopped measuring.
    func connectionFinished() {
        self.finished += 1
        guard self.finished == self.connections else { return }
        self.report.seconds = Double((NIODeadline.now() - self.startedAt).nanoseconds) / 1e9
        if let start = self.cpuAtStart, !self.watched.isEmpty {
            self.report.cpu = CPUSample.now(of: self.watched).line(
                since: start, pids: self.watched, operations: self.report.operations)
        }
        self.done.succeed(self.report)
    }

    /// A connection failed during set-up or measuring.
    func fail(_ message: String) {
        self.done.fail(BenchFailure(message: message))
    }
}

struct BenchFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { self.message }
}

@available(*, unavailable)
extension BenchRun: Sendable {}
