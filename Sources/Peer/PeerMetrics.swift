import Prometheus

/// A peer daemon's metrics, in a registry of swift-prometheus of its own: what it sent to whom and received from
/// whom, file by file, pieces verified and failed, bans, and how much of each download came from peers other than
/// the first seeder (whether peer-to-peer happened).
public final class PeerMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()
    /// Pieces that arrived and matched their SHA1.
    let piecesVerified: Counter
    /// Pieces that arrived and did not.
    let piecesFailed: Counter
    /// Serving peers dropped and banned for sending bad pieces.
    let bans: Counter
    /// Downloads under way.
    let activeDownloads: Gauge

    public init() {
        self.piecesVerified = self.registry.makeCounter(
            descriptor: Self.name("pieces_verified_total", "Downloaded pieces that matched their SHA1."))
        self.piecesFailed = self.registry.makeCounter(
            descriptor: Self.name("pieces_failed_total", "Downloaded pieces that did not match their SHA1."))
        self.bans = self.registry.makeCounter(
            descriptor: Self.name("bans_total", "Serving peers dropped and banned for bad pieces."))
        self.activeDownloads = self.registry.makeGauge(
            descriptor: Self.name("downloads_active", "Downloads under way (downloading or waiting for seeders)."))
    }

    /// The counter of bytes of `file` in `group` sent to `user`'s downloads.
    func sent(group: String, file: String, to user: String) -> Counter {
        self.registry.makeCounter(
            descriptor: Self.name("sent_bytes_total", "File bytes sent, by file and by the user who asked."),
            labels: [("group", group), ("file", file), ("to", user)])
    }

    /// The counter of verified bytes of `file` in `group` received from the peer serving at `address`.
    func received(group: String, file: String, from address: String) -> Counter {
        self.registry.makeCounter(
            descriptor: Self.name(
                "received_bytes_total", "Verified file bytes received, by file and by the serving peer's address."),
            labels: [("group", group), ("file", file), ("from", address)])
    }

    /// The gauge of the share of `file`'s downloaded bytes that came from peers other than its first seeder.
    func fromOthers(group: String, file: String) -> Gauge {
        self.registry.makeGauge(
            descriptor: Self.name(
                "download_from_others_ratio",
                "Of a download's verified bytes, the share that came from peers other than the first seeder the "
                    + "tracker listed (0 to 1)."),
            labels: [("group", group), ("file", file)])
    }

    /// Every metric, in the Prometheus text format.
    public func render() -> String { self.registry.emitToString() }

    private static func name(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "tandem", subsystem: "peer", metricName: name, unitName: "", helpText: help)
    }
}
