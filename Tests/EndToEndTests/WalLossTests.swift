import Foundation
import NIOCore
import Replica
import ReplicaCore
import TandemTestKit
import Testing

/// A WAL cut back by something other than a crash (a truncated file, a zeroed tail, a deleted segment) stops
/// `tandemd` at start-up with what is missing and what to do, instead of serving without acknowledged writes.
@Suite(.serialized)
struct WalLossTests {
    /// A tracker that acknowledged 60 group creations (with a snapshot every 25 ops), then stopped cleanly.
    static func stoppedTracker() throws -> (cluster: TestCluster, dataDir: URL) {
        let cluster = try TestCluster(extraYAML: "storage: { snapshot_every_ops: 25 }")
        try cluster.start()
        do {
            let client = try LineSocket(port: cluster.clientPorts["t1"]!)
            #expect(try client.request("CREATE_USER|alice|pw") == "OK")
            #expect(try client.request("LOGIN|alice|pw").hasPrefix("OK|"))
            for index in 0..<60 { #expect(try client.request("CREATE_GROUP|g\(index)") == "OK") }
        }
        #expect(try cluster.stop() == 0)
        return (cluster, cluster.directory.appendingPathComponent("data/t1"))
    }

    static func newestSegment(in dataDir: URL) throws -> URL {
        let names = try FileManager.default.contentsOfDirectory(atPath: dataDir.path).filter { $0.hasPrefix("wal-") }
        let newest = try #require(names.max(), "a WAL segment in \(dataDir.path)")
        return dataDir.appendingPathComponent(newest)
    }

    /// Starts t1 and waits for it to give up; returns what it logged.
    static func refusedStart(_ cluster: TestCluster) throws -> String {
        _ = try cluster.launch(
            Binaries.tandemd, ["tracker", "--config", cluster.configPath, "--id", "t1", "--alone"], log: "t1")
        #expect(try cluster.waitForExit() == 1)
        return cluster.log("t1")
    }

    @Test func aSegmentTruncatedToHalfStopsStartUp() throws {
        let (cluster, dataDir) = try Self.stoppedTracker()
        let segment = try Self.newestSegment(in: dataDir)
        let bytes = try Data(contentsOf: segment)
        try bytes.prefix(bytes.count / 2).write(to: segment)
        let log = try Self.refusedStart(cluster)
        #expect(log.contains("lost acknowledged ops"), "\(log)")
        #expect(log.contains(segment.lastPathComponent), "the message names the file: \(log)")
        #expect(log.contains("restore the data_dir"), "the message says what to do: \(log)")
    }

    @Test func aZeroedSecondHalfStopsStartUp() throws {
        let (cluster, dataDir) = try Self.stoppedTracker()
        let segment = try Self.newestSegment(in: dataDir)
        var bytes = try Data(contentsOf: segment)
        // Zeros from a record's start look like space the file system allocated but a crash left unfilled: only
        // the recorded durable position tells the two apart.
        let records = LogScan.scan(ByteBuffer(bytes: bytes)).records
        let half = records.prefix(records.count / 2).reduce(0) { $0 + $1.encodedLength }
        bytes.replaceSubrange(half..., with: Data(count: bytes.count - half))
        try bytes.write(to: segment)
        let log = try Self.refusedStart(cluster)
        #expect(log.contains(segment.lastPathComponent), "the message names the file: \(log)")
        #expect(log.contains("restore the data_dir"), "the message says what to do: \(log)")
        #expect(try Data(contentsOf: segment) == bytes, "the damaged log is left as it was found")
    }

    @Test func theNewestSegmentDeletedAfterASnapshotStopsStartUp() throws {
        let (cluster, dataDir) = try Self.stoppedTracker()
        try FileManager.default.removeItem(at: try Self.newestSegment(in: dataDir))
        let log = try Self.refusedStart(cluster)
        #expect(log.contains("lost acknowledged ops"), "\(log)")
    }

    @Test func aKillDashNineStillRecoversEverything() throws {
        let cluster = try TestCluster(extraYAML: "storage: { snapshot_every_ops: 25 }")
        try cluster.start()
        let client = try LineSocket(port: cluster.clientPorts["t1"]!)
        #expect(try client.request("CREATE_USER|alice|pw") == "OK")
        #expect(try client.request("LOGIN|alice|pw").hasPrefix("OK|"))
        for index in 0..<60 { #expect(try client.request("CREATE_GROUP|g\(index)") == "OK") }
        try cluster.stop(signal: SIGKILL)
        try cluster.start()
        let reader = try LineSocket(port: cluster.clientPorts["t1"]!)
        #expect(try reader.request("LOGIN|alice|pw").hasPrefix("OK|"))
        #expect(try reader.request("LIST_GROUPS").split(separator: "|").count == 61)
    }
}
