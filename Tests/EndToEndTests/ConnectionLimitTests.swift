import Foundation
import TandemTestKit
import Testing

/// The client port's bounds: connection count and idle time.
@Suite(.serialized)
struct ConnectionLimitTests {
    @Test func idleConnectionsAreClosed() throws {
        let cluster = try TestCluster(extraYAML: "limits: { idle_timeout: 300ms }")
        try cluster.start()
        let idle = try LineSocket(port: cluster.clientPorts["t1"]!, timeout: .seconds(10))
        try idle.waitForClose()
        let active = try LineSocket(port: cluster.clientPorts["t1"]!)
        #expect(try active.request("CREATE_USER|gus|pw") == "OK")
    }

    @Test func connectionsBeyondTheLimitAreClosedAndTheOthersServed() throws {
        let cluster = try TestCluster(extraYAML: "limits: { max_connections: 4 }")
        try cluster.start()
        let port = cluster.clientPorts["t1"]!
        // The start-up probe's connection may take a moment to be released, so each admission is awaited.
        let admitted = try (0..<4).map { index in
            try eventually("connection \(index) admitted") { () -> LineSocket? in
                guard let socket = try? LineSocket(port: port),
                    (try? socket.request("WHOAMI"))?.hasPrefix("ERR|not_logged_in|") == true
                else { return nil }
                return socket
            }
        }
        for (index, socket) in admitted.enumerated() {
            #expect(try socket.request("CREATE_USER|user\(index)|pw") == "OK")
        }
        let refused = try LineSocket(port: port)
        try refused.waitForClose()
        #expect(try admitted[0].request("LOGIN|user0|pw").hasPrefix("OK|"))
    }
}
