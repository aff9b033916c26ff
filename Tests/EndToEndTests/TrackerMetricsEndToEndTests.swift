import Foundation
import TandemTestKit
import Testing

/// What the trackers count as they work, read from their metrics ports: requests by command and result, their
/// latency, the WAL's batches, promotions and FULLSYNCs.
@Suite(.serialized)
struct TrackerMetricsEndToEndTests {
    static func cluster(extraYAML: String = "") throws -> (TestCluster, metricsPort: Int) {
        let metrics = try TestCluster.freePortPair()  // t1 serves on the port, t2 on the next
        let cluster = try TestCluster(
            extraYAML: PairFailoverTests.fastFailover + "\nmetrics: { port: \(metrics) }\n" + extraYAML)
        return (cluster, metrics)
    }

    /// Both trackers' pages, t1's first.
    static func pages(_ metricsPort: Int) throws -> [MetricsPage] {
        [try MetricsPage.fetch(port: metricsPort), try MetricsPage.fetch(port: metricsPort + 1)]
    }

    @Test func requestsAreCountedByCommandAndResultWithTheirLatency() throws {
        let (cluster, metricsPort) = try Self.cluster()
        try cluster.startPair()
        try cluster.waitForPair(primary: "t1")
        try cluster.signUp("ann")
        let socket = try LineSocket(port: cluster.clientPorts["t1"]!)
        socket.send(line: "LOGIN|ann|wrong")
        #expect(try socket.readLine().hasPrefix("ERR|auth_failed|"))
        socket.send(line: "NO_SUCH_COMMAND")
        #expect(try socket.readLine().hasPrefix("ERR|unknown_command|"))

        let pages = try Self.pages(metricsPort)
        let requests = "tandem_client_requests_total"
        #expect(pages.map { $0.sum(requests, ["command": "CREATE_USER", "result": "ok"]) }.reduce(0, +) == 1)
        #expect(pages[0].sum(requests, ["tracker": "t1", "command": "LOGIN", "result": "auth_failed"]) == 1)
        #expect(pages.map { $0.sum(requests, ["command": "LOGIN", "result": "ok"]) }.reduce(0, +) == 1)
        // A line that names no command is refused before it is a request: it is not counted as one.
        #expect(pages[0].sum(requests, ["result": "unknown_command"]) == 0, "\(pages[0].text)")
        let latency = "tandem_client_request_seconds_count"
        #expect(pages[0].sum(latency, ["tracker": "t1", "command": "LOGIN"]) >= 2)
        #expect(pages[0].sum(requests, ["tracker": "t1"]) == pages[0].sum(latency, ["tracker": "t1"]))

        // Each write went through both WALs in batches, each written and synced once.
        for (page, id) in zip(pages, ["t1", "t2"]) {
            let batches = page.sum("tandem_wal_batch_ops_count", ["tracker": id])
            #expect(batches >= 1, "\(id)")
            #expect(page.sum("tandem_wal_write_seconds_count", ["tracker": id]) == batches, "\(id)")
            #expect(page.sum("tandem_wal_batch_ops_sum", ["tracker": id]) >= 2, "\(id): a user and a session")
            #expect(page.sum("tandem_wal_written_bytes_total", ["tracker": id]) > 0, "\(id)")
        }
    }

    @Test func aFailoverAndAFullSyncAreCountedWhereTheyHappen() throws {
        let (cluster, metricsPort) = try Self.cluster(extraYAML: "storage:\n  snapshot_every_ops: 50\n")
        try cluster.startPair()
        try cluster.waitForPair(primary: "t1")
        try cluster.signUp("bea")
        var pages = try Self.pages(metricsPort)
        #expect(pages[0].sum("tandem_replica_became_primary_total", ["tracker": "t1"]) == 1)
        #expect(pages[1].sum("tandem_replica_became_primary_total", ["tracker": "t2"]) == 0)

        // t2 away while t1 snapshots past what it could send from its log: t2 comes back by a FULLSYNC.
        #expect(try cluster.stop("t2") == 0)
        let writer = try LineSocket(port: cluster.clientPorts["t1"]!)
        writer.send(line: "RESUME|\(try cluster.sessionToken())")
        #expect(try writer.readLine() == "OK|bea")
        for index in 0..<200 {
            writer.send(line: "CREATE_GROUP|g\(index)")
            #expect(try writer.readLine() == "OK")
        }
        try cluster.start("t2", alone: false)
        try cluster.waitForPair(primary: "t1")
        pages = try Self.pages(metricsPort)
        #expect(pages[0].sum("tandem_replica_fullsyncs_sent_total", ["tracker": "t1"]) >= 1)
        #expect(pages[1].sum("tandem_replica_fullsyncs_installed_total", ["tracker": "t2"]) == 1)

        // The primary killed: the backup takes over and counts it.
        try cluster.stop("t1", signal: SIGKILL)
        try cluster.waitForRole("primary", of: "t2")
        let promoted = try MetricsPage.fetch(port: metricsPort + 1)
        #expect(promoted.sum("tandem_replica_became_primary_total", ["tracker": "t2"]) == 1)
    }
}
