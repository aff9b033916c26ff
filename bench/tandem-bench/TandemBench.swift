import ArgumentParser
import NIOCore
import NIOPosix
import Wire

/// `tandem-bench`: drives a tracker with N closed-loop connections and prints throughput and latency.
///
/// Each connection first creates and logs in its own user (and, for reads, connection 0 creates a group so
/// LIST_GROUPS has something to list); once every connection is ready, all of them send one request at a time,
/// each the moment the previous reply arrives, until the duration is over. Like `redis-benchmark -P 1`. With
/// `--cpu-of PID`, it also reports the CPU each such process and the client spent per measured request.
@main
struct TandemBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tandem-bench",
        abstract: "Measure a tracker's throughput and latency with closed-loop clients."
    )

    enum Op: String, ExpressibleByArgument, CaseIterable {
        case read, write
    }

    @Option(help: "The tracker's host.")
    var host = "127.0.0.1"

    @Option(help: "The tracker's client port.")
    var port: Int

    @Option(help: "The protocol to speak: text or binary.")
    var `protocol`: ClientFormatArgument = .binary

    @Option(help: "What to measure: read (LIST_GROUPS) or write (CREATE_GROUP, durable).")
    var op: Op = .read

    @Option(help: "How many connections, each with one request in flight.")
    var connections = 1

    @Option(help: "How long to measure, in seconds.")
    var duration = 5.0

    @Option(help: "A prefix for the users and groups this run creates, so runs against one tracker do not clash.")
    var tag = "b"

    @Option(help: "Stop after this many requests (about: those in flight finish), if before the duration ends.")
    var count: Int?

    @Option(name: .customLong("cpu-of"), help: "A process (a tracker) whose CPU per measured request is reported.")
    var cpuOf: [Int32] = []

    func run() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        let run = BenchRun(
            loop: loop, format: self.protocol.format, op: self.op == .read ? .read : .write,
            connections: self.connections, duration: .nanoseconds(Int64(self.duration * 1e9)), tag: self.tag,
            count: self.count ?? .max, watched: self.cpuOf)
        let report = try run.start(host: self.host, port: self.port).wait()
        print(report.line)
        if report.errors > 0 {
            throw ValidationError("\(report.errors) requests failed; first: \(report.firstError ?? "?")")
        }
    }
}

/// The `--protocol` choice.
enum ClientFormatArgument: String, ExpressibleByArgument, CaseIterable {
    case text, binary

    var format: ClientFormat { self == .text ? .text : .binary }
}
