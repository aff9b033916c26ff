import Synchronization

/// The few running totals `STATUS` shows (`tandemctl status`), counted beside the Prometheus metrics: a
/// Prometheus histogram cannot be read back, and a client should not need the metrics port for them.
final class TrackerTally: Sendable {
    let clients = Atomic<Int>(0)
    let requests = Atomic<Int>(0)
    let requestErrors = Atomic<Int>(0)
    let walBatches = Atomic<Int>(0)
    let walOps = Atomic<Int>(0)
    let walWriteNanoseconds = Atomic<Int>(0)

    /// The totals as `STATUS` fields: open clients, requests answered and how many were errors, WAL batches, the
    /// mean ops per batch and the mean time to write and sync one (in microseconds).
    var statusFields: [(name: String, value: String)] {
        let batches = self.walBatches.load(ordering: .relaxed)
        let tenthsPerBatch = batches == 0 ? 0 : self.walOps.load(ordering: .relaxed) * 10 / batches
        let meanWrite = batches == 0 ? 0 : self.walWriteNanoseconds.load(ordering: .relaxed) / batches / 1000
        return [
            ("clients", "\(self.clients.load(ordering: .relaxed))"),
            ("requests", "\(self.requests.load(ordering: .relaxed))"),
            ("request_errors", "\(self.requestErrors.load(ordering: .relaxed))"),
            ("wal_batches", "\(batches)"),
            ("wal_ops_per_batch", "\(tenthsPerBatch / 10).\(tenthsPerBatch % 10)"),
            ("wal_write_avg_us", "\(meanWrite)"),
        ]
    }
}
