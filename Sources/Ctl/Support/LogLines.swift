import Foundation
import NIOCore
import Tracker
import Wire

/// Prints the lines of `tandemctl log`, as text or JSON lines, from pages of the log read on this host or sent by
/// the tracker: at most `limit` ops.
struct LogLines {
    let json: Bool
    /// The ops still to print.
    private(set) var remaining: Int
    /// The seq of the last op printed.
    private(set) var lastSeq: UInt64?

    init(json: Bool, limit: Int) {
        self.json = json
        self.remaining = limit
    }

    /// Whether `limit` ops have been printed.
    var full: Bool { self.remaining <= 0 }

    /// Prints the items of `page`, up to the limit.
    mutating func print(_ page: LogPage) throws {
        for item in page.items {
            switch item {
            case .op(let seq, let epoch, let payload):
                guard !self.full else { return }
                try self.op(seq: seq, epoch: epoch, payload: payload)
            case .snapshot(let seq, let epoch):
                try self.emit(
                    text: "snapshot at seq \(seq)  epoch \(epoch)",
                    json: SnapshotLine(snapshot: .init(seq: seq, epoch: epoch)))
            case .segmentEnd(let segment, let offset, let problem):
                try self.end(segment: segment, offset: offset, problem: problem)
            case .cut(let file, let time, let fromSeq, let ops):
                let time = Self.time(milliseconds: time * 1000)
                try self.emit(
                    text: "cut at \(time): \(ops) ops from seq \(fromSeq) on, which the newer primary's log does "
                        + "not hold, are kept in \(file)",
                    json: CutLine(cut: .init(file: file, time: time, fromSeq: fromSeq, ops: Int(ops))))
            }
        }
    }

    private mutating func op(seq: UInt64, epoch: UInt64, payload: [UInt8]) throws {
        self.remaining -= 1
        self.lastSeq = seq
        guard !payload.isEmpty else {
            return try self.emit(
                text: "seq \(seq)  epoch \(epoch)  epoch_start",
                json: RecordLine(seq: seq, epoch: epoch, time: nil, op: "epoch_start", fields: [:]))
        }
        var buffer = ByteBuffer(bytes: payload)
        guard let op = try? TrackerState.decodeOp(from: &buffer) else {
            return try self.emit(
                text: "seq \(seq)  epoch \(epoch)  <undecodable op>",
                json: RecordLine(seq: seq, epoch: epoch, time: nil, op: "undecodable", fields: [:]))
        }
        let summary = op.summary
        let fields = summary.fields.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let time = op.proposedAt.map { Self.time(milliseconds: $0) }
        try self.emit(
            text: "seq \(seq)  epoch \(epoch)  \(time.map { "\($0)  " } ?? "")\(summary.name)  \(fields)",
            json: RecordLine(
                seq: seq, epoch: epoch, time: time, op: summary.name,
                fields: Dictionary(summary.fields.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })))
    }

    private func end(segment: String, offset: UInt64, problem: String) throws {
        if problem == LogPage.torn {
            try self.emit(
                text: "\(segment): torn at byte \(offset) (a write cut short; the tracker cuts it at start-up)",
                json: EndLine(segmentEnd: .init(segment: segment, offset: offset, problem: problem)))
        } else {
            try self.emit(
                text: "\(segment): damaged at byte \(offset) (\(problem)); the tracker will not start on it",
                json: EndLine(segmentEnd: .init(segment: segment, offset: offset, problem: problem)))
        }
    }

    /// `2026-11-30T19:05:01.123Z`.
    static func time(milliseconds: UInt64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }

    private func emit(text: String, json: some Encodable) throws {
        if self.json { try JSONOutput.print(json) } else { Swift.print(text) }
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
            let offset: UInt64
            let problem: String
        }
        let segmentEnd: End
    }
}
