import Cluster
import Testing
import TrackerClient

@testable import Ctl

/// The partition drill's account, and the nftables rules that make the cut.
@Suite struct PartitionAccountTests {
    static func write(_ name: String, by tracker: String, _ outcome: DrillWrite.Outcome = .acknowledged) -> DrillWrite {
        let now = ContinuousClock.now
        return DrillWrite(name: name, sent: now, answered: now, outcome: outcome, tracker: tracker)
    }

    @Test func eachAcknowledgedWriteIsCountedByTrackerEpochAndFate() {
        let account = PartitionAccount(
            writes: [
                Self.write("a1", by: "t1"), Self.write("a2", by: "t1"), Self.write("a3", by: "t1"),
                Self.write("b1", by: "t2"), Self.write("b2", by: "t2"),
                Self.write("b3", by: "t2", .unanswered("timed out")),
            ],
            epochs: ["a1": 2, "a2": 2, "b1": 2, "b2": 3],
            readBack: ["a1", "b1", "b2"],
            cuts: [OpLogScan.Cut(tracker: "t1", file: "cut-9-4.log", fromSeq: 4, ops: 3)])
        #expect(account.lost.map(\.name) == ["a2", "a3"])
        #expect(
            account.lines == [
                "t1 acknowledged 3 writes (epoch 2: 2, epoch unknown: 1): 1 kept, 2 lost (epoch 2: 1, epoch unknown: 1)",
                "t2 acknowledged 2 writes (epoch 2: 1, epoch 3: 1): 2 kept, 0 lost",
                "t1's log was cut from seq 4 on (3 ops) when it rejoined the newer primary, and kept in its data_dir "
                    + "as cut-9-4.log; 2 of them were acknowledged writes",
                "loss check: 3 of 5 acknowledged writes are in the cluster; 2 lost",
                "  lost: a2, acknowledged by t1",
                "  lost: a3, acknowledged by t1",
            ])
    }

    @Test func oneWayDropsOnlyWhatThePrimarySendsTheBackup() {
        let t1 = TrackerConfig(id: "t1", host: "127.0.0.1", clientPort: 7101, syncPort: 7201, dataDir: "/d1")
        let t2 = TrackerConfig(id: "t2", host: "127.0.0.1", clientPort: 7102, syncPort: 7202, dataDir: "/d2")
        let oneWay = SyncPartition(from: t1, to: t2, oneWay: true).ruleset
        #expect(oneWay.contains("tcp dport 7202 drop") && oneWay.contains("tcp sport 7201 drop"))
        #expect(!oneWay.contains("dport 7201") && !oneWay.contains("sport 7202"))
        let both = SyncPartition(from: t1, to: t2, oneWay: false).ruleset
        #expect(both.contains("tcp dport { 7201, 7202 } drop") && both.contains("tcp sport { 7201, 7202 } drop"))
        #expect(both.hasPrefix("table inet tandem_drill {"))
    }

    @Test func acrossHostsTheRulesGoOnTheBackupsHostMatchedByThePrimarysAddress() {
        let t1 = TrackerConfig(id: "t1", host: "198.18.7.1", clientPort: 7101, syncPort: 7201, dataDir: "/d1")
        let t2 = TrackerConfig(id: "t2", host: "198.18.7.2", clientPort: 7101, syncPort: 7201, dataDir: "/d2")
        let oneWay = SyncPartition(from: t1, to: t2, oneWay: true)
        #expect(oneWay.host == "198.18.7.2")
        #expect(oneWay.ruleset.contains("ip saddr 198.18.7.1 tcp sport 7201 drop"))
        #expect(oneWay.ruleset.contains("ip saddr 198.18.7.1 tcp dport 7201 drop"))
        #expect(!oneWay.ruleset.contains("hook output"), "one way leaves what the backup sends alone")
        let both = SyncPartition(from: t1, to: t2, oneWay: false).ruleset
        #expect(both.contains("hook input") && both.contains("ip daddr 198.18.7.1 tcp dport 7201 drop"))
        #expect(both.contains("ip daddr 198.18.7.1 tcp sport 7201 drop"))
    }

    @Test func aPairWithOneTrackerOnLoopbackAndOneElsewhereIsRefused() {
        let t1 = TrackerConfig(id: "t1", host: "127.0.0.1", clientPort: 7101, syncPort: 7201, dataDir: "/d1")
        let t2 = TrackerConfig(id: "t2", host: "198.18.7.2", clientPort: 7101, syncPort: 7201, dataDir: "/d2")
        #expect(throws: ClientError.self) { try SyncPartition.check([t1, t2]) }
    }

    @Test func wordsSentOverSshAreQuotedForTheRemoteShell() {
        #expect(DrillHosts.quoted("table") == "'table'")
        #expect(DrillHosts.quoted("it's; rm") == #"'it'\''s; rm'"#)
    }
}
