import ArgumentParser
import TrackerClient
import Wire

extension Tandemctl {
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show each tracker's role in the pair and how far its log goes.",
            discussion: """
                Asks every tracker of cluster.yaml, in order: whether it answers, its role (primary, backup or \
                waiting), its epoch, the last seq of its log and the last it applied, and since when it has held \
                its role. For the primary: whether the backup is in sync (writes wait for it) or catching up, \
                and how many ops and bytes of log it lags (bytes as far back as the primary has counted since it \
                started). A tracker that is not primary says why when there is more to say. Exits with 3 when no \
                tracker answers.
                """)

        @OptionGroup var cluster: ClusterOptions

        @Flag(help: "Print one JSON document instead of a table.")
        var json = false

        /// One tracker's answer, as `--json` prints it.
        struct TrackerLine: Encodable {
            var tracker: String
            var address: String
            var reachable: Bool
            var error: String?
            var status: [String: String]?
        }

        struct Document: Encodable {
            var trackers: [TrackerLine]
        }

        func run() async throws {
            let context = try CtlContext(self.cluster)
            let lines = await Self.lines(context)
            if self.json {
                try JSONOutput.print(Document(trackers: lines))
            } else {
                print(Self.table(lines))
            }
            guard lines.contains(where: \.reachable) else { throw ExitCode(3) }
        }

        /// Each tracker's answer to `STATUS`, asked in cluster.yaml's order; an unreachable one says why.
        static func lines(_ context: CtlContext) async -> [TrackerLine] {
            var lines: [TrackerLine] = []
            for tracker in context.config.trackers {
                let address = "\(tracker.host):\(tracker.clientPort)"
                let connection: TrackerConnection
                do {
                    connection = try await context.client.connect(to: tracker)
                } catch {
                    lines.append(
                        TrackerLine(tracker: tracker.id, address: address, reachable: false, error: error.attempt))
                    continue
                }
                do {
                    let reply = try await connection.send(.status)
                    let fields = try reply.expectStatus()
                    let status = Dictionary(fields.map { ($0.name, $0.value) }) { _, last in last }
                    lines.append(TrackerLine(tracker: tracker.id, address: address, reachable: true, status: status))
                } catch {
                    lines.append(
                        TrackerLine(tracker: tracker.id, address: address, reachable: false, error: "\(error)"))
                }
                await connection.close()
            }
            return lines
        }

        static func table(_ lines: [TrackerLine]) -> String {
            let headers = [
                "TRACKER", "ADDRESS", "ROLE", "EPOCH", "LAST SEQ", "APPLIED", "BACKUP", "LAG OPS", "LAG BYTES", "SINCE",
            ]
            let rows = lines.map { line -> [String] in
                guard let status = line.status else {
                    return [line.tracker, line.address, "unreachable", "-", "-", "-", "-", "-", "-", "-"]
                }
                return [
                    line.tracker, line.address, status["role"] ?? "?", status["epoch"] ?? "?",
                    status["last_seq"] ?? "?", status["applied_seq"] ?? "?", status["backup"] ?? "-",
                    status["backup_lag_ops"] ?? "-", status["backup_lag_bytes"] ?? "-", status["role_since"] ?? "?",
                ]
            }
            let notes = lines.compactMap { line -> String? in
                if let reason = line.status?["reason"] { return "\(line.tracker): \(reason)" }
                return line.error.map { "\(line.tracker): \($0)" }
            }
            return ([TextTable.render(headers: headers, rows: rows)] + notes).joined(separator: "\n")
        }
    }
}
