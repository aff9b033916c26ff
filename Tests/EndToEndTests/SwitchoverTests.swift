import Foundation
import TandemTestKit
import Testing

/// `tandemctl switchover` hands the primary role to the in-sync backup without a failed or lost write.
@Suite struct SwitchoverTests {
    @Test func switchingOverAndBackUnderEightWritersFailsNoWriteAndLosesNone() throws {
        let cluster = try TestCluster(extraYAML: PairFailoverTests.fastFailover)
        try cluster.startPair()
        try cluster.waitForPair(primary: "t1")
        try cluster.signUp("sam")

        let load = WriteLoad(cluster: cluster, writers: 8)
        load.start()
        defer { load.stop() }  // A test that fails early must not leave the writers running.
        for (from, to) in [("t1", "t2"), ("t2", "t1")] {
            let before = load.acknowledged.count
            _ = try eventually("writes to go through before the switchover") {
                load.acknowledged.count > before + 16 ? true : nil
            }
            let result = try cluster.ctl(["switchover"])
            #expect(result.status == 0, "\(result)")
            #expect(result.stdout.contains("\(from) is handing the primary role to \(to)"), "\(result.stdout)")
            #expect(result.stdout.contains("\(to) took over in epoch"), "\(result.stdout)")
            #expect(result.stdout.contains("\(from) is its backup, in sync"), "\(result.stdout)")
            let status = try #require(cluster.status(to))
            #expect(status["role"] == "primary" && status["backup"] == "in_sync", "\(status)")
        }
        let after = load.acknowledged.count
        _ = try eventually("writes to go through after the switchovers") {
            load.acknowledged.count > after + 16 ? true : nil
        }
        let acknowledged = load.stop()
        #expect(load.failures.isEmpty, "writes that failed: \(load.failures.prefix(5))")

        let final = try cluster.waitForPair(primary: "t1")
        let token = try cluster.sessionToken()
        for id in ["t1", "t2"] {
            try cluster.waitForApplied(id, through: final["last_seq"].flatMap(UInt64.init) ?? 0)
            let missing = acknowledged.subtracting(try cluster.groups(on: id, token: token))
            #expect(missing.isEmpty, "\(id) lacks \(missing.count) acknowledged writes: \(missing.prefix(5))")
        }
    }

    @Test func aSwitchoverIsRefusedWithoutAnInSyncBackup() throws {
        let cluster = try TestCluster(extraYAML: PairFailoverTests.fastFailover)
        try cluster.start("t1")
        let alone = try cluster.ctl(["switchover"])
        #expect(alone.status == 1)
        #expect(alone.stderr.contains("backup is not in sync"), "\(alone)")
        #expect(cluster.status("t1")?["role"] == "primary")
    }
}
