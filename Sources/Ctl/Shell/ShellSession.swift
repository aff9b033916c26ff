import Foundation
import TrackerClient
import Wire

/// The `tandem> ` loop: one line in, one request out on the shell's single connection, the reply printed.
///
/// The session is the connection, as with the original client: `login` binds this connection and nothing is
/// stored. With standard input piped, no prompt is printed, so scripts and tests can drive the shell.
struct ShellSession {
    let connection: TrackerConnection
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
            let command = ShellInterpreter.interpret(line)
            if command != .nothing { try self.history.append(ShellInterpreter.historyEntry(line)) }
            switch command {
            case .nothing: continue
            case .help: print(ShellInterpreter.help)
            case .history: print(self.history.numbered)
            case .exit: return
            case .message(let text): print(text)
            case .send(let request): print(ReplyText.render(try await self.connection.send(request)))
            }
        }
    }
}
