import Foundation
import TrackerClient

/// Where a password comes from: never the command line, where `ps` would show it.
///
/// In order: one line of standard input with `--password-stdin`, else `TANDEM_PASSWORD`, else a prompt with echo
/// off when standard input is a terminal.
struct PasswordSource {
    /// Read one line of standard input (`--password-stdin`).
    var fromStandardInput: Bool
    /// The process environment, for `TANDEM_PASSWORD`.
    var environment: [String: String] = ProcessInfo.processInfo.environment

    /// The password; a terminal prompt asks twice when `confirm` (a new account).
    func read(confirm: Bool) throws(ClientError) -> String {
        let password: String
        if self.fromStandardInput {
            guard let line = readLine(strippingNewline: true) else {
                throw .usage("--password-stdin given but standard input is empty; pipe the password in")
            }
            password = line.hasSuffix("\r") ? String(line.dropLast()) : line
        } else if let variable = self.environment["TANDEM_PASSWORD"], !variable.isEmpty {
            password = variable
        } else if Console.inputIsTerminal {
            password = try Self.prompt("Password: ")
            if confirm, try Self.prompt("Repeat password: ") != password {
                throw .usage("the passwords differ; run the command again")
            }
        } else {
            throw .usage("no password: use --password-stdin or TANDEM_PASSWORD")
        }
        guard !password.isEmpty else { throw .usage("the password is empty; choose a non-empty one") }
        return password
    }

    /// Reads a line from the terminal with echo turned off.
    private static func prompt(_ text: String) throws(ClientError) -> String {
        FileHandle.standardError.write(Data(text.utf8))
        var saved = termios()
        let canMute = tcgetattr(STDIN_FILENO, &saved) == 0
        if canMute {
            var muted = saved
            muted.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &muted)
        }
        defer {
            if canMute { tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved) }
            FileHandle.standardError.write(Data("\n".utf8))
        }
        guard let line = readLine(strippingNewline: true) else { throw .usage("no password entered") }
        return line
    }
}
