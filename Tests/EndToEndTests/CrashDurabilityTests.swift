import Foundation
import TandemTestKit
import Testing

/// `kill -9` under load loses nothing the tracker acknowledged.
@Suite(.serialized)
struct CrashDurabilityTests {
    /// Groups whose creation was acknowledged, shared by the writer threads.
    final class Acknowledged: @unchecked Sendable {
        private let lock = NSLock()
        private var names: [String] = []

        func add(_ name: String) { self.lock.withLock { self.names.append(name) } }
        var all: [String] { self.lock.withLock { self.names } }
    }

    @Test func killDashNineDuringEightWritersLosesNoAcknowledgedWrite() throws {
        let cluster = try TestCluster()
        try cluster.start()
        let port = cluster.clientPorts["t1"]!
        let setup = try LineSocket(port: port)
        for writer in 0..<8 {
            #expect(try setup.request("CREATE_USER|writer\(writer)|pw") == "OK")
        }
        let acknowledged = Acknowledged()
        let writers = DispatchGroup()
        for writer in 0..<8 {
            DispatchQueue.global().async(group: writers) {
                guard let socket = try? LineSocket(port: port, timeout: .seconds(5)),
                    (try? socket.request("LOGIN|writer\(writer)|pw"))?.hasPrefix("OK|") == true
                else { return }
                for index in 0..<100_000 {
                    let name = "w\(writer)-\(index)"
                    guard let reply = try? socket.request("CREATE_GROUP|\(name)") else { return }
                    if reply == "OK" { acknowledged.add(name) }
                }
            }
        }
        _ = try eventually("300 acknowledged writes") { acknowledged.all.count >= 300 ? true : nil }
        try cluster.stop(signal: SIGKILL)
        #expect(writers.wait(timeout: .now() + 20) == .success)
        let acked = acknowledged.all

        try cluster.start()
        let reader = try LineSocket(port: port)
        #expect(try reader.request("LOGIN|writer0|pw").hasPrefix("OK|"))
        let listing = try reader.request("LIST_GROUPS")
        let present = Set(listing.split(separator: "|").dropFirst().map { String($0.split(separator: ":")[0]) })
        let lost = acked.filter { !present.contains($0) }
        #expect(lost.isEmpty, "lost \(lost.count) of \(acked.count) acknowledged writes: \(lost.prefix(10))")
    }
}
