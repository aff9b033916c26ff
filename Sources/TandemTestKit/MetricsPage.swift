import Foundation

/// A Prometheus text page, as a tracker or a peer daemon serves it on `/metrics`, and its samples.
public struct MetricsPage: Sendable {
    /// One sample: a metric's name, its labels and its value.
    public struct Sample: Sendable {
        public let name: String
        public let labels: [String: String]
        public let value: Double
    }

    /// The page as served.
    public let text: String
    /// Its samples, in order.
    public let samples: [Sample]

    /// Parses `text` (comments skipped; label values with escaped quotes are not expected here).
    public init(text: String) {
        self.text = text
        self.samples = text.split(separator: "\n").compactMap { line -> Sample? in
            guard !line.hasPrefix("#"), let space = line.lastIndex(of: " "),
                let value = Double(line[line.index(after: space)...])
            else { return nil }
            let series = line[..<space]
            guard let open = series.firstIndex(of: "{") else {
                return Sample(name: String(series), labels: [:], value: value)
            }
            var labels: [String: String] = [:]
            for pair in series[series.index(after: open)..<(series.lastIndex(of: "}") ?? series.endIndex)]
                .split(separator: ",")
            {
                guard let equals = pair.firstIndex(of: "=") else { continue }
                labels[String(pair[..<equals])] = String(pair[pair.index(after: equals)...]).trimmingCharacters(
                    in: ["\""])
            }
            return Sample(name: String(series[..<open]), labels: labels, value: value)
        }
    }

    /// Fetches `http://host:port/metrics`.
    public static func fetch(host: String = "127.0.0.1", port: Int) throws -> MetricsPage {
        let response = try Self.get("/metrics", host: host, port: port, timeout: .seconds(5))
        guard response.hasPrefix("HTTP/1.1 200") else {
            let status = response.split(separator: "\n").first.map(String.init) ?? "no answer"
            throw SocketError(description: "GET /metrics on \(host):\(port): \(status)")
        }
        return MetricsPage(text: response)
    }

    /// One HTTP/1.1 GET of `path`, the whole response (status line, headers, body) as text, lines joined by
    /// `\n`; the server closes after it.
    public static func get(
        _ path: String, host: String = "127.0.0.1", port: Int, timeout: Duration = .seconds(10)
    ) throws -> String {
        let socket = try LineSocket(host: host, port: port, timeout: timeout)
        socket.send(Array("GET \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n".utf8))
        var lines: [String] = []
        while let line = try? socket.readLine() { lines.append(line) }
        return lines.joined(separator: "\n")
    }

    /// The sum of the samples named `name` whose labels include `labels`; 0 when there is none.
    public func sum(_ name: String, _ labels: [String: String] = [:]) -> Double {
        self.samples.filter { sample in
            sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value }
        }.reduce(0) { $0 + $1.value }
    }
}
