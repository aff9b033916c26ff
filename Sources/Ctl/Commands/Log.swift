import ArgumentParser
import Foundation
import Replica
import ReplicaCore
import Tracker
import TrackerClient

extension Tandemctl {
    struct Log: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a tracker's op log from its data directory.",
            discussion: """
                Reads the data directory of a tracker of this host (--tracker) or any copy of one (--data-dir), \
                without changing it: each op with its seq, epoch, time (UTC, by the clock of the tracker that \
                took the request) and fields, where snapshots were taken, how each WAL segment ends, and where \
                ops were cut when this tracker rejoined a newer primary (they are kept in a cut-*.log file). \
                Password hashes and session tokens are shown as <redacted>. With --follow it then prints ops as \
                the tracker logs them, until interrupted. With --json: one JSON object per line, each with either \
                seq, epoch, time, op and fields, or snapshot (seq and epoch), or segment_end (segment, and the \
                offset and problem of a torn or damaged end), or cut (file, time, from_seq, ops).
                """)

        @OptionGroup var cluster: ClusterOptions

        @Option(help: ArgumentHelp("The tracker whose data directory (from cluster.yaml) to read.", valueName: "id"))
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

        func validate() throws {
            guard (self.tracker == nil) != (self.dataDir == nil) else {
                throw ValidationError("Name the log to read: --tracker ID, or --data-dir PATH.")
            }
            if let limit = self.limit, limit < 0 { throw ValidationError("--limit must be 0 or more.") }
        }

        func run() throws {
            let path = try self.directoryPath()
            guard FileManager.default.fileExists(atPath: path) else {
                throw ClientError.usage("\(path) does not exist: is the tracker's data_dir on this host?")
            }
            let directory = DataDirectory(path: path)
            let listing = try LogListing.read(directory)
            var lines = LogLines(json: self.json, from: self.from, limit: self.limit ?? .max)
            for snapshot in listing.snapshots where snapshot.seq + 1 >= self.from {
                try lines.snapshot(snapshot)
            }
            var cuts = listing.cuts.filter { $0.firstSeq >= self.from }[...]
            for segment in listing.segments {
                for record in segment.records {
                    // A cut is shown where the log went on without it: before the op that took its place.
                    while let cut = cuts.first, cut.firstSeq <= record.seq {
                        try lines.cut(cut)
                        cuts.removeFirst()
                    }
                    try lines.record(record)
                }
                guard !lines.full else { return }
                try lines.end(of: segment, in: directory)
            }
            for cut in cuts { try lines.cut(cut) }
            guard self.follow else { return }
            var tail = LogTail(
                directory: directory, segment: listing.segments.last?.firstSeq,
                offset: listing.segments.last?.validLength ?? 0)
            while !lines.full {
                fflush(nil)  // A pipe or file would otherwise hold the lines until the buffer fills.
                for record in try tail.poll() { try lines.record(record) }
                Thread.sleep(forTimeInterval: 0.2)
            }
        }

        private func directoryPath() throws -> String {
            if let dataDir = self.dataDir {
                return ClusterOptions.absolute(dataDir, in: FileManager.default.currentDirectoryPath)
            }
            let config = try self.cluster.loadConfig()
            guard let tracker = config.trackers.first(where: { $0.id == self.tracker }) else {
                let known = config.trackers.map(\.id).joined(separator: ", ")
                throw ClientError.usage("no tracker \(self.tracker ?? "") in cluster.yaml; it lists \(known)")
            }
            return tracker.dataDir
        }
    }
}

/// Prints the lines of `tandemctl log`, as text or JSON lines: records from `from` on, at most `limit` of them.
private struct LogLines {
    let json: Bool
    let from: UInt64
    var limit: Int

    /// Whether `limit` records have been printed.
    var full: Bool { self.limit <= 0 }

    mutating func record(_ record: LogRecord) throws {
        guard record.seq >= self.from, !self.full else { return }
        self.limit -= 1
        guard record.payload.readableBytes > 0 else {
            return try self.emit(
                text: "seq \(record.seq)  epoch \(record.epoch)  epoch_start",
                json: RecordLine(seq: record.seq, epoch: record.epoch, time: nil, op: "epoch_start", fields: [:]))
        }
        var payload = record.payload
        guard let op = try? TrackerState.decodeOp(from: &payload) else {
            return try self.emit(
                text: "seq \(record.seq)  epoch \(record.epoch)  <undecodable op>",
                json: RecordLine(seq: record.seq, epoch: record.epoch, time: nil, op: "undecodable", fields: [:]))
        }
        let summary = op.summary
        let fields = summary.fields.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let time = op.proposedAt.map { Self.time(milliseconds: $0) }
        try self.emit(
            text: "seq \(record.seq)  epoch \(record.epoch)  \(time.map { "\($0)  " } ?? "")\(summary.name)  \(fields)",
            json: RecordLine(
                seq: record.seq, epoch: record.epoch, time: time, op: summary.name,
                fields: Dictionary(summary.fields.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })))
    }

    mutating func cut(_ cut: LogListing.Cut) throws {
        let time = Self.time(milliseconds: cut.time * 1000)
        try self.emit(
            text: "cut at \(time): \(cut.records.count) ops from seq \(cut.firstSeq) on, which the newer primary's log "
                + "does not hold, are kept in \(cut.file)",
            json: CutLine(cut: .init(file: cut.file, time: time, fromSeq: cut.firstSeq, ops: cut.records.count)))
    }

    /// `2026-11-30T19:05:01.123Z`.
    static func time(milliseconds: UInt64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }

    mutating func snapshot(_ position: LogPosition) throws {
        try self.emit(
            text: "snapshot at seq \(position.seq)  epoch \(position.epoch)",
            json: SnapshotLine(snapshot: .init(seq: position.seq, epoch: position.epoch)))
    }

    mutating func end(of segment: LogListing.Segment, in directory: DataDirectory) throws {
        let name = (directory.segmentPath(firstSeq: segment.firstSeq) as NSString).lastPathComponent
        switch segment.ending {
        case .clean:
            return
        case .tornTail(let offset):
            try self.emit(
                text: "\(name): torn at byte \(offset) (a write cut short; the tracker cuts it at start-up)",
                json: EndLine(segmentEnd: .init(segment: name, offset: offset, problem: "torn")))
        case .corrupt(let offset, let detail):
            try self.emit(
                text: "\(name): damaged at byte \(offset) (\(detail)); the tracker will not start on it",
                json: EndLine(segmentEnd: .init(segment: name, offset: offset, problem: detail)))
        }
    }

    private func emit(text: String, json: some Encodable) throws {
        if self.json { try JSONOutput.print(json) } else { print(text) }
    }

    private struct RecordLine: Encodable {
        let seq: UInt64
        let epoch: UInt64
        let time: String?
        let op: String
        let fields: [String: String]
    }

    private struct CutLine: Encodable {
        struct Cut: Encodable {
            let file: String
            let time: String
            let fromSeq: UInt64
            let ops: Int
        }
        let cut: Cut
    }

    private struct SnapshotLine: Encodable {
        struct Point: Encodable {
            let seq: UInt64
            let epoch: UInt64
        }
        let snapshot: Point
    }

    private struct EndLine: Encodable {
        struct End: Encodable {
            let segment: String
            let offset: Int
            let problem: String
        }
        let segmentEnd: End
    }
}
