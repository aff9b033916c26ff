import Foundation
import TandemTestKit
import Testing

/// `tandemctl drill partition` on a real pair: its account of the acknowledged writes matches what the logs, the
/// cut files and the final state say.
@Suite(
    .serialized,
    .enabled(
        if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/nft"),
        "the partition drill adds nftables rules: it needs root and nft (scripts/test installs nftables as root)"))
struct PartitionDrillTests {
    /// The groups in tracker `id`'s live log, from `tandemctl log --tracker --json` run by `ctl`.
    static func groups(inLogOf id: String, _ ctl: ([String]) throws -> CommandResult) throws -> Set<String> {
        let log = try ctl(["log", "--tracker", id, "--json"])
        #expect(log.status == 0, "\(log)")
        return Set(
            log.stdout.split(separator: "\n").compactMap { line in
                let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                guard object?["op"] as? String == "create_group" else { return nil }
                return (object?["fields"] as? [String: String])?["group"]
            })
    }

    @Test(arguments: [false, true])
    func theReportAccountsForEveryAcknowledgedWriteAsTheLogsDo(oneWay: Bool) throws {
        let cluster = try TestCluster(extraYAML: PairFailoverTests.fastFailover)
        try cluster.startPair()
        try cluster.waitForPair(primary: "t1")
        let drill = try cluster.ctl(["drill", "partition", "2", "--writers", "2"] + (oneWay ? ["--one-way"] : []))
        #expect(drill.status == 0 || drill.status == 1, "\(drill)")
        let lines = drill.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.contains("fault: the sync link cut " + (oneWay ? "t1 to t2 only" : "both ways")) })
        #expect(lines.contains { $0.contains("the link is back, after") })
        #expect(lines.contains { $0.contains("t2 promoted itself") }, "\(drill.stdout)")
        #expect(lines.contains { $0.contains("with its backup in sync") }, "\(drill.stdout)")
        let nft = try TestCluster.run(
            URL(fileURLWithPath: "/usr/sbin/nft"), ["list", "table", "inet", "tandem_drill"], stdin: nil,
            in: cluster.directory)
        #expect(nft.status != 0, "the drill removed its rules")

        // Each tracker's line: acknowledged = kept + lost, and the totals match the loss check.
        var acknowledged = 0
        var lost = 0
        for id in ["t1", "t2"] {
            let line = try #require(lines.first { $0.hasPrefix("\(id) acknowledged ") }, "\(drill.stdout)")
            let numbers = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
            let match = try #require(line.firstMatch(of: #/acknowledged (\d+) writes .*: (\d+) kept, (\d+) lost/#))
            let (total, kept, gone) = (Int(match.1)!, Int(match.2)!, Int(match.3)!)
            #expect(total == kept + gone && total > 0, "\(line) \(numbers)")
            acknowledged += total
            lost += gone
        }
        #expect(
            lines.contains(
                "loss check: \(acknowledged - lost) of \(acknowledged) acknowledged writes are in the cluster; \(lost) lost"
            ))
        #expect(drill.status == (lost == 0 ? 0 : 1))

        // What the report calls lost is in neither live log, and in a cut file of the tracker that acknowledged it.
        let ctl = { (arguments: [String]) in try cluster.ctl(arguments) }
        let live = try Self.groups(inLogOf: "t1", ctl).union(try Self.groups(inLogOf: "t2", ctl))
        for line in lines where line.hasPrefix("  lost: ") {
            let match = try #require(line.firstMatch(of: #/  lost: (\S+), acknowledged by (t\d)/#))
            let (name, tracker) = (String(match.1), String(match.2))
            #expect(!live.contains(name), "\(name) is not in the cluster")
            let data = cluster.directory.appendingPathComponent("data/\(tracker)")
            let cuts = try FileManager.default.contentsOfDirectory(atPath: data.path).filter { $0.hasPrefix("cut-") }
            let kept = try cuts.contains {
                try Data(contentsOf: data.appendingPathComponent($0)).range(of: Data(name.utf8)) != nil
            }
            #expect(kept, "\(name) is kept in a cut file of \(tracker)")
        }
        if lost > 0 {
            let cutLine = try #require(lines.first { $0.contains("'s log was cut from seq") }, "\(drill.stdout)")
            let file = try #require(cutLine.firstMatch(of: #/as (cut-\S+);/#)).1
            let tracker = String(cutLine.prefix(2))
            #expect(
                FileManager.default.fileExists(
                    atPath: cluster.directory.appendingPathComponent("data/\(tracker)/\(file)").path))
        }
    }
}
