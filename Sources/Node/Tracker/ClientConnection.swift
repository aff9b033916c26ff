import Logging
import NIOCore
import ServiceLifecycle
import Wire

/// Serves one client connection: decodes requests in order, answers each, and ends its session if it is
/// bound to the connection.
struct ClientConnection {
    let engine: TrackerEngine
    let logger: Logger

    func serve(_ connection: NIOAsyncChannel<ClientInbound, ClientOutbound>) async {
        let peerHost = connection.channel.remoteAddress?.ipAddress ?? "unknown"
        var logger = self.logger
        logger[metadataKey: "conn.peer"] = "\(connection.channel.remoteAddress.map { "\($0)" } ?? "unknown")"
        var session = ConnectionSession(format: .text, peerHost: peerHost)
        var prefaceSent = false
        do {
            try await connection.executeThenClose { inbound, outbound in
                for try await message in inbound.cancelOnGracefulShutdown() {
                    switch message {
                    case .preface:
                        session.format = .binary
                        prefaceSent = true
                        try await outbound.write(.preface)
                    case .request(let format, let requestID, let request):
                        session.format = format
                        let reply = await self.engine.handle(request, session: &session)
                        try await outbound.write(.reply(format, requestID: requestID, reply))
                    case .invalid(let format, let requestID, let error):
                        logger.debug("refused malformed input", metadata: ["error": "\(error)"])
                        if format == .binary && !prefaceSent {
                            // A bad preface: answer with ours first, so the client learns which version we speak.
                            prefaceSent = true
                            try await outbound.write(.preface)
                        }
                        try await outbound.write(
                            .reply(format, requestID: requestID, .error(error.code, error.description)))
                        if error.isFatal { return }
                    }
                }
            }
        } catch {
            logger.debug("connection ended with an error", metadata: ["error": "\(error)"])
        }
        await self.engine.connectionClosed(session)
    }
}
