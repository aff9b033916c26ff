import ArgumentParser
import Foundation
import Replica
import TrackerClient
import Wire

extension Tandemctl {
    struct Log: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a tracker's op log, over the network or from a data directory.",
            discussion: """
                With --tracker, asks that tracker for its log over the network (READ_LOG, proven with the \
                cluster secret, as QUIT is), wherever it runs; when it does not answer and its data_dir is on \
                this host, reads that instead. With --data-dir, reads a data directory (a stopped tracker's, or \
                a copy of one) without changing it. Each op with its seq, epoch, time (UTC, by the clock of the \
                tracker that took the request) and fields, each snapshot after the op it ends at, how each WAL \
                segment ends when not cleanly, and where ops were cut when the tracker rejoined a newer primary \
                (they are kept in a cut-*.log file). Password hashes and session tokens are shown as <redacted>. \
                With --follow it then prints ops as the tracker logs them, until interrupted. With --json: one \
                JSON object per line, each with either seq, epoch, time, op and fields, or snapshot (seq and \
                epoch), or segment_end (segment, and the offset and problem of a torn or damaged end), or cut \
                (file, time, from_seq, ops).
                """)

        @OptionGroup var cluster: ClusterOptions

        @Option(help: ArgumentHelp("The tracker (its id in cluster.yaml) whose log to read.", valueName: "id"))
        var tracker: String?

        @Option(help: ArgumentHelp("A data directory to read instead.", valueName: "path"))
        var dataDir: String?

        @Option(help: ArgumentHelp("The first seq to print.", valueName: "seq"))
        var from: UInt64 = 1

        @Option(help: ArgumentHelp("Print at most this many ops.", valueName: "count"))
        var limit: Int?

        @Flag(help: "Keep printing ops as they are logged.")
        var follow = false

        @Flag(help: "Print JSON lines.")
        var json = false

        /// How often --follow asks for new ops.
        static let followInterval = Duration.milliseconds(200)

        func validate() throws {
            guard (self.tracker == nil) != (self.dataDir == nil) else {
                throw ValidationError("Name the log to read: --tracker ID, or --data-dir PATH.")
            }
            if let limit = self.limit, limit < 0 { throw ValidationError("--limit must be 0 or more.") }
        }

        func run() async throws {
            var lines = LogLines(json: self.json, limit: self.limit ?? .max)
            if let dataDir = self.dataDir {
                return try self.read(
                    ClusterOptions.absolute(dataDir, in: FileManager.default.currentDirectoryPath), &lines)
            }
            let context = try CtlContext(self.cluster)
            let tracker = try context.tracker(named: self.tracker ?? "")
            let here = FileManager.default.fileExists(atPath: tracker.dataDir)
            do {
                let secret = try context.config.readSecret()
                try await context.withConnection(to: tracker) { connection in
                    try await self.ask(connection, context: context, secret: secret, &lines)
                }
            } catch let error as ClientError where error.isUnreachable && lines.lastSeq == nil && here {
                Console.error("tandemctl: \(tracker.id) does not answer; reading its data_dir \(tracker.dataDir) here")
                try self.read(tracker.dataDir, &lines)
            }
        }

        /// Reads pages of the log from the tracker on `connection` until the limit, or the end without --follow.
        private func ask(
            _ connection: TrackerConnection, context: CtlContext, secret: [UInt8], _ lines: inout LogLines
        ) async throws {
            var start = LogQuery.Start.seq(self.from)
            while !lines.full {
                let query = LogQuery(start: start, limit: UInt32(clamping: lines.remaining))
                let reply = try await context.proving("READ_LOG", on: connection, secret: secret) {
                    .readLog(query, mac: $0)
                }
                try reply.throwIfError()
                let page = try reply.expectLogPage()
                try lines.print(page)
                fflush(nil)  // A pipe or file would otherwise hold the lines until the buffer fills.
                if page.more, case .seq = start, let last = lines.lastSeq {
                    start = .seq(last + 1)
                    continue
                }
                guard self.follow else { return }
                start = .after(page.cursor)
                if !page.more { try await Task.sleep(for: Self.followInterval) }
            }
        }

        /// Reads the log in the data directory at `path`, and follows it with --follow.
        private func read(_ path: String, _ lines: inout LogLines) throws {
            guard FileManager.default.fileExists(atPath: path) else {
                throw ClientError.usage("\(path) does not exist: is the tracker's data_dir on this host?")
            }
            let directory = DataDirectory(path: path)
            let page = try LogListing.read(directory, from: self.from).page(
                from: self.from, limit: lines.remaining, maxBytes: .max, in: directory)
            try lines.print(page)
            guard self.follow else { return }
            guard var tail = LogTail(directory: directory, cursor: page.cursor) else { return }
            while !lines.full {
                fflush(nil)
                try lines.print(try tail.page(limit: lines.remaining, maxBytes: .max))
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
    }
}
