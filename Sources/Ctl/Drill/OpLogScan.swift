import Cluster
import Foundation
import NIOCore
import Tracker
import TrackerClient
import Wire

/// What a drill needs of a tracker's op log, read over the network with `READ_LOG`: the epoch each group was
/// created in, and the ops cut from the log (kept in cut files) since a moment.
struct OpLogScan {
    /// Ops cut when the tracker rejoined a newer primary, as one `cut-*.log` holds them.
    struct Cut: Equatable {
        let tracker: String
        let file: String
        let fromSeq: UInt64
        let ops: UInt32
    }

    /// Each group created in the log, with the epoch of its op.
    var createdIn: [String: UInt64] = [:]
    var cuts: [Cut] = []

    /// Reads the whole log of `tracker`, keeping the cuts made at or after `since`.
    static func read(
        _ tracker: TrackerConfig, context: CtlContext, secret: [UInt8], cutSince since: Date
    ) async throws -> OpLogScan {
        var scan = OpLogScan()
        try await context.withConnection(to: tracker) { connection in
            var from: UInt64 = 1
            while true {
                let query = LogQuery(start: .seq(from), limit: UInt32.max)
                let reply = try await context.proving("READ_LOG", on: connection, secret: secret) {
                    .readLog(query, mac: $0)
                }
                try reply.throwIfError()
                let page = try reply.expectLogPage()
                for item in page.items {
                    switch item {
                    case .op(let seq, let epoch, let payload):
                        from = seq + 1
                        var buffer = ByteBuffer(bytes: payload)
                        guard !payload.isEmpty, let op = try? TrackerState.decodeOp(from: &buffer) else { continue }
                        let summary = op.summary
                        if summary.name == "create_group",
                            let group = summary.fields.first(where: { $0.key == "group" })
                        {
                            scan.createdIn[group.value] = epoch
                        }
                    case .cut(let file, let time, let fromSeq, let ops)
                    where time >= UInt64(since.timeIntervalSince1970):
                        scan.cuts.append(Cut(tracker: tracker.id, file: file, fromSeq: fromSeq, ops: ops))
                    default:
                        break
                    }
                }
                if !page.more { return }
            }
        }
        return scan
    }
}
