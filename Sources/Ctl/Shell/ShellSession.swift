import Foundation
import PeerControl
import TrackerClient
import Wire

/// The `tandem> ` loop: one line in, one request out on the shell's single connection (or to the home's peer
/// daemon for the sharing commands), the reply printed.
///
/// The session is the connection, as with the original client: `login` binds this connection. It also stores
/// the token in the home, as `tandemctl login` does, because the peer daemon shares, downloads and keeps seeding
/// for that session after the shell ends; `logout` forgets it. With standard input piped, no prompt is printed,
/// so scripts and tests can drive the shell.
struct ShellSession {
    let connection: TrackerConnection
    let peer: PeerControlClient
    let sessions: SessionStore
    var history: ShellHistory
    /// Print the prompt and the greeting (standard input is a terminal).
    let interactive: Bool

    /// Reads and runs lines until `quit`, `exit` or the end of the input.
    ///
    /// - Throws: ``ClientError/connectionLost(tracker:detail:)`` when the tracker goes away.
    mutating func run() async throws {
        if self.interactive {
            Console.error("connected to \(self.connection.name); type help for the commands, quit to leave")
        }
        while true {
            if self.interactive {
                print("tandem> ", terminator: "")
                fflush(nil)
            }
            guard let line = readLine(strippingNewline: true) else {
                if self.interactive { print() }
                return
            }
            let command = ShellInterpreter.interpret(line, in: FileManager.default.currentDirectoryPath)
            if command != .nothing { try self.history.append(ShellInterpreter.historyEntry(line)) }
            switch command {
            case .nothing: continue
            case .help: print(ShellInterpreter.help)
            case .history: print(self.history.numbered)
            case .exit: return
            case .message(let text): print(text)
            case .send(let request):
                let reply = try await self.connection.send(request)
                try self.keepSession(request, reply)
                print(ReplyText.render(reply))
            case .peer(let request): print(self.ask(request))
            }
        }
    }

    /// Stores the token of a login, and forgets it at logout, for the peer daemon.
    private func keepSession(_ request: Request, _ reply: Reply) throws(ClientError) {
        switch (request, reply) {
        case (.login, .token(let token)): try self.sessions.save(token)
        case (.logout, .ok): try self.sessions.clear()
        default: break
        }
    }

    /// Sends `request` to the peer daemon (starting it when needed) and says what came of it.
    private func ask(_ request: ControlRequest) -> String {
        var line = ProgressLine()
        defer { line.finish() }
        let started = ContinuousClock.now
        let reply: ControlReply
        do {
            reply = try self.peer.send(request) { progress in
                let elapsed = (ContinuousClock.now - started).seconds
                line.draw("hashing " + ProgressText.line(done: progress.done, total: progress.total, elapsed: elapsed))
            }
        } catch {
            return "\(error)"
        }
        switch reply {
        case .shared(let share):
            return share.summary
        case .downloadStarted(let status):
            return "downloading \(status.name) to \(status.target); show_downloads shows how far it is"
        case .downloads(let downloads): return Self.originalList(downloads)
        case .done:
            if case .stopShare(let group, let name) = request { return "stopped sharing \(name) in \(group)" }
            return "OK"
        default: return "unexpected answer from the peer daemon"
        }
    }

    /// The original client's `show_downloads` lines: `[D] [group] file 42%`, `[C] [group] file`.
    static func originalList(_ downloads: [DownloadStatus]) -> String {
        guard !downloads.isEmpty else { return "no downloads" }
        return downloads.map { download in
            switch download.state {
            case .complete: "[C] [\(download.group)] \(download.name)"
            case .failed: "[F] [\(download.group)] \(download.name): \(download.message ?? "failed")"
            case .downloading, .waiting:
                "[D] [\(download.group)] \(download.name) \(String(format: "%.1f%%", download.percent))"
            case .paused: "[P] [\(download.group)] \(download.name) \(String(format: "%.1f%%", download.percent))"
            }
        }.joined(separator: "\n")
    }
}
