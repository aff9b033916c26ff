import Cluster
import Foundation
import TrackerClient

/// Cuts the sync link between the two trackers with nftables, by their sync ports, so that clients still reach
/// both: a table of its own (`inet tandem_drill`) on one host, removed by ``heal(through:)``. Both ways drops every
/// packet of the sync link; one way drops only what `from` sends to `to` (on each of their connections). When both
/// trackers share a host the rules go there; when they do not, on `to`'s host, matched by `from`'s address.
struct SyncPartition {
    /// The nftables table the drill adds and removes.
    static let table = "tandem_drill"

    let from: TrackerConfig
    let to: TrackerConfig
    let oneWay: Bool

    /// The host whose firewall takes the rules.
    var host: String { self.to.host }

    /// The ruleset `nft -f` loads on ``host``.
    var ruleset: String {
        self.from.host == self.to.host ? self.sameHostRuleset : self.crossHostRuleset
    }

    /// Both trackers on one host: everything between them passes the output hook.
    private var sameHostRuleset: String {
        let drops =
            self.oneWay
            // From `from` to `to`: to `to`'s sync port on the connection `from` dialed, and from `from`'s sync port
            // on the one `to` dialed.
            ? ["tcp dport \(self.to.syncPort) drop", "tcp sport \(self.from.syncPort) drop"]
            : [
                "tcp dport { \(self.from.syncPort), \(self.to.syncPort) } drop",
                "tcp sport { \(self.from.syncPort), \(self.to.syncPort) } drop",
            ]
        return Self.table(chains: ["output": drops])
    }

    /// The trackers on two hosts, the rules on `to`'s: what comes from `from` on either of the link's
    /// connections, and (both ways) what goes to it.
    private var crossHostRuleset: String {
        let family = self.from.host.contains(":") ? "ip6" : "ip"
        let fromHost = "\(family) saddr \(self.from.host)"
        let toHost = "\(family) daddr \(self.from.host)"
        var chains = [
            "input": [
                "\(fromHost) tcp sport \(self.from.syncPort) drop", "\(fromHost) tcp dport \(self.to.syncPort) drop",
            ]
        ]
        if !self.oneWay {
            chains["output"] = [
                "\(toHost) tcp dport \(self.from.syncPort) drop", "\(toHost) tcp sport \(self.to.syncPort) drop",
            ]
        }
        return Self.table(chains: chains)
    }

    private static func table(chains: [String: [String]]) -> String {
        let body = chains.keys.sorted().map { hook in
            """
              chain \(hook) {
                type filter hook \(hook) priority 0; policy accept;
                \(chains[hook]!.joined(separator: "\n    "))
              }
            """
        }
        return "table inet \(Self.table) {\n" + body.joined(separator: "\n") + "\n}\n"
    }

    /// What the cut is, for the timeline.
    var description: String {
        let place = self.from.host == self.to.host ? "" : ", by nftables on \(self.host)"
        return self.oneWay
            ? "\(self.from.id) to \(self.to.id) only (sync ports \(self.to.syncPort) in, "
                + "\(self.from.syncPort) out\(place))"
            : "both ways between \(self.from.id) and \(self.to.id) (sync ports \(self.from.syncPort), "
                + "\(self.to.syncPort)\(place))"
    }

    /// Refuses a pair the drill cannot cut: one tracker on loopback and the other elsewhere, or trackers on
    /// loopback without root (the rules are this host's).
    static func check(_ trackers: [TrackerConfig]) throws(ClientError) {
        let loopback = trackers.filter { DrillHosts.isLoopback($0.host) }
        guard loopback.isEmpty || loopback.count == trackers.count else {
            throw .usage(
                "the partition drill cuts a link between trackers both on loopback or both on other hosts; these "
                    + "are on " + trackers.map(\.host).joined(separator: " and "))
        }
        guard loopback.isEmpty || getuid() == 0 else {
            throw .usage("the partition drill adds nftables rules on this host, which needs root")
        }
    }

    /// Adds the rules.
    func cut(through hosts: DrillHosts) throws(ClientError) {
        try Self.nft(["-f", "-"], input: self.ruleset, on: self.host, through: hosts)
    }

    /// Removes the rules (and a table a drill before left behind).
    func heal(through hosts: DrillHosts) throws(ClientError) {
        try Self.nft(["delete", "table", "inet", Self.table], input: nil, on: self.host, through: hosts)
    }

    /// Whether a drill's table is on ``host`` (one that was interrupted).
    func isPresent(through hosts: DrillHosts) -> Bool {
        (try? Self.nft(["list", "table", "inet", Self.table], input: nil, on: self.host, through: hosts)) != nil
    }

    private static func nft(
        _ arguments: [String], input: String?, on host: String, through hosts: DrillHosts
    ) throws(ClientError) {
        try hosts.run(["/usr/sbin/nft"] + arguments, input: input, on: host)
    }
}
