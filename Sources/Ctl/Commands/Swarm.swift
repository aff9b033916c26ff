import ArgumentParser
import NIOCore
import TrackerClient
import Wire

extension Tandemctl {
    struct Swarm: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show who holds how much of a shared file, and who sent whom what.",
            discussion: """
                Asks the tracker for the file and the seeders it lists (as the logged-in user, a member of \
                GROUP), then reads the counters of every peer daemon that cluster.yaml lists under peers with a \
                metrics_port: how much of the file each holds, what it sent to whom and received from whom, and \
                how much of its download came from peers other than the first seeder (whether peer-to-peer \
                happened). Daemons not listed there, or without metrics, are not shown; one that does not \
                answer is shown as unreachable.
                """)

        @Argument(help: "The group the file is shared in.")
        var group: String

        @Argument(help: "The file's name in the group.")
        var file: String

        @OptionGroup var cluster: ClusterOptions

        @Flag(help: "Print one JSON document instead of tables.")
        var json = false

        /// How long each peer daemon has to answer.
        static let scrapeTimeout = TimeAmount.seconds(5)

        func run() async throws {
            let context = try CtlContext(self.cluster)
            let info = try await context.sendWithSession(.downloadFile(group: self.group, name: self.file))
                .expectFileInfo()
            let listed = context.config.peers.filter { $0.metricsPort != nil }
            let peers = await withTaskGroup(of: (Int, Result<[MetricSample], any Error>).self) { tasks in
                for (index, peer) in listed.enumerated() {
                    tasks.addTask {
                        do {
                            let samples = try await MetricsScrape.samples(
                                host: peer.host, port: peer.metricsPort ?? 0, timeout: Self.scrapeTimeout)
                            return (index, .success(samples))
                        } catch {
                            return (index, .failure(error))
                        }
                    }
                }
                var results = [Result<[MetricSample], any Error>?](repeating: nil, count: listed.count)
                for await (index, result) in tasks { results[index] = result }
                return zip(listed, results).compactMap { peer, result in result.map { (peer, $0) } }
            }
            let report = SwarmReport(info: info, peers: peers)
            if self.json { try JSONOutput.print(report) } else { print(report.text) }
        }
    }
}
