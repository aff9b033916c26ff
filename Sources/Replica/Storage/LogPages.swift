import NIOCore
import ReplicaCore
import Wire

extension LogListing {
    /// The log from `seq` on, as `tandemctl log` shows it: each snapshot after the op it ends at, ops in seq
    /// order, how each segment that does not end cleanly ends, and each cut before the op that took its place.
    /// At most `limit` ops, and past `maxBytes` of payloads no more (at least one); `more` says the page stopped
    /// early. Its cursor is where the ops after the page start, for reading on with a ``LogTail``.
    public func page(from seq: UInt64, limit: Int, maxBytes: Int, in directory: DataDirectory) -> LogPage {
        var items: [LogPage.Item] = []
        var snapshots = self.snapshots.filter { $0.seq + 1 >= seq }[...]
        var cuts = self.cuts.filter { $0.firstSeq >= seq }[...]
        var ops = 0
        var bytes = 0
        for segment in self.segments {
            var offset = 0
            for record in segment.records {
                defer { offset += record.encodedLength }
                guard record.seq >= seq else { continue }
                guard ops < limit, ops == 0 || bytes < maxBytes else {
                    let cursor = LogCursor(segment: segment.firstSeq, offset: UInt64(offset))
                    return LogPage(items: items, cursor: cursor, more: true)
                }
                while let snapshot = snapshots.first, snapshot.seq < record.seq {
                    items.append(.snapshot(seq: snapshot.seq, epoch: snapshot.epoch))
                    snapshots.removeFirst()
                }
                // A cut is shown where the log went on without it: before the op that took its place.
                while let cut = cuts.first, cut.firstSeq <= record.seq {
                    items.append(cut.item)
                    cuts.removeFirst()
                }
                items.append(record.item)
                ops += 1
                bytes += record.encodedLength
            }
            // Shown with the page that holds the segment's last op, or with every page when it holds none.
            if (segment.records.last?.seq ?? .max) >= seq, let end = segment.endItem(in: directory) {
                items.append(end)
            }
        }
        items += snapshots.map { .snapshot(seq: $0.seq, epoch: $0.epoch) } + cuts.map(\.item)
        return LogPage(items: items, cursor: self.end, more: false)
    }

    /// Where the log ends: after the whole records of the last segment (segment 0 when there is none).
    var end: LogCursor {
        LogCursor(segment: self.segments.last?.firstSeq ?? 0, offset: UInt64(self.segments.last?.validLength ?? 0))
    }
}

extension LogTail {
    /// A tail that starts at `cursor` (segment 0: at the first segment there is); nil when its offset is past
    /// what a file can hold.
    public init?(directory: DataDirectory, cursor: LogCursor) {
        guard let offset = Int(exactly: cursor.offset) else { return nil }
        self.init(directory: directory, segment: cursor.segment == 0 ? nil : cursor.segment, offset: offset)
    }

    /// The ops logged since the last poll, at most `limit` (past `maxBytes` of them no more, at least one), and
    /// the cursor to read on from.
    public mutating func page(limit: Int, maxBytes: Int) throws(ReplicaError) -> LogPage {
        let (records, more) = try self.poll(upTo: limit, maxBytes: maxBytes)
        return LogPage(items: records.map(\.item), cursor: self.cursor, more: more)
    }
}

extension LogRecord {
    var item: LogPage.Item { .op(seq: self.seq, epoch: self.epoch, payload: Array(self.payload.readableBytesView)) }
}

extension LogListing.Cut {
    var item: LogPage.Item {
        .cut(file: self.file, time: self.time, fromSeq: self.firstSeq, ops: UInt32(clamping: self.records.count))
    }
}

extension LogListing.Segment {
    /// How the segment ends, unless cleanly.
    func endItem(in directory: DataDirectory) -> LogPage.Item? {
        let path = directory.segmentPath(firstSeq: self.firstSeq)
        let name = String(path.split(separator: "/").last ?? Substring(path))
        switch self.ending {
        case .clean: return nil
        case .tornTail(let offset): return .segmentEnd(segment: name, offset: UInt64(offset), problem: LogPage.torn)
        case .corrupt(let offset, let detail):
            return .segmentEnd(segment: name, offset: UInt64(offset), problem: detail)
        }
    }
}
