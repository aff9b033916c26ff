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
                started). A tracker that is not primary says why when there is more to say. A second table \
                gives each tracker's load since it started: open client connections, requests answered and how \
                many were errors, WAL batches (each one write and one fdatasync), the mean ops per batch and the \
                mean time to write and sync one. Exits with 0 when the pair is whole (every tracker answers and \
                the primary's backup is in sync), 1 when it is not, and 3 when no tracker answers. With --json: \
                {"trackers": \
                [...]}, each with tracker, address, reachable, and error (when it did not answer) or status (its \
                STATUS fields, the counts and positions as numbers).
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

            private enum CodingKeys: String, CodingKey {
                case tracker, address, reachable, error, status
            }

            /// `STATUS`'s fields with the numeric ones (``numericFields``) as JSON numbers; `error` only when the
            /// tracker did not answer, `status` only when it did.
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(self.tracker, forKey: .tracker)
                try container.encode(self.address, forKey: .address)
                try container.encode(self.reachable, forKey: .reachable)
                try container.encodeIfPresent(self.error, forKey: .error)
                try container.encodeIfPresent(self.status.map(Self.typed), forKey: .status)
            }

            /// The `STATUS` fields whose values are numbers.
            static let numericFields: Set<String> = [
                "epoch", "last_seq", "durable_seq", "commit_seq", "applied_seq", "pid", "backup_lag_ops",
                "backup_lag_bytes", "clients", "requests", "request_errors", "wal_batches", "wal_ops_per_batch",
                "wal_write_avg_us",
            ]

            static func typed(_ status: [String: String]) -> [String: StatusValue] {
                status.reduce(into: [:]) { typed, field in
                    let number = Self.numericFields.contains(field.key) ? Double(field.value) : nil
                    typed[field.key] = number.map(StatusValue.number) ?? .text(field.value)
                }
            }
        }

        /// A `STATUS` value in JSON: a number or a string.
        enum StatusValue: Encodable {
            case number(Double)
            case text(String)

            func encode(to encoder: any Encoder) throws {
                var container = encoder.singleValueContainer()
                switch self {
                case .number(let value) where value == value.rounded() && abs(value) < 1e15:
                    try container.encode(Int64(value))
                case .number(let value): try container.encode(value)
                case .text(let value): try container.encode(value)
                }
            }
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
            // The pair is whole when every tracker answers and a primary has its backup in sync.
            let whole =
                lines.allSatisfy(\.reachable)
                && lines.contains { $0.status?["role"] == "primary" && $0.status?["backup"] == "in_sync" }
            if !whole { throw ExitCode(1) }
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
            let load = lines.compactMap { line -> [String]? in
                guard let status = line.status else { return nil }
                return [line.tracker]
                    + [
                        "clients", "requests", "request_errors", "wal_batches", "wal_ops_per_batch",
                        "wal_write_avg_us",
                    ].map { status[$0] ?? "-" }
            }
            let loadHeaders = ["TRACKER", "CLIENTS", "REQUESTS", "ERRORS", "WAL BATCHES", "OPS/BATCH", "WAL WRITE µs"]
            let notes = lines.compactMap { line -> String? in
                if let reason = line.status?["reason"] { return "\(line.tracker): \(reason)" }
                return line.error.map { "\(line.tracker): \($0)" }
            }
            let tables =
                [TextTable.render(headers: headers, rows: rows)]
                + (load.isEmpty ? [] : ["", TextTable.render(headers: loadHeaders, rows: load)])
            return (tables + notes).joined(separator: "\n")
        }
    }
}
