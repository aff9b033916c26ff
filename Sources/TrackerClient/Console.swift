import Foundation

/// Writes to standard error, where diagnostics go so that standard output stays clean for scripts.
public enum Console {
    /// Whether standard error is a terminal (someone watches it).
    public static var isTerminal: Bool { isatty(STDERR_FILENO) == 1 }

    /// Writes `line` and `terminator` (a newline) to standard error, unbuffered.
    public static func error(_ line: String, terminator: String = "\n") {
        FileHandle.standardError.write(Data((line + terminator).utf8))
    }

    /// Whether standard input is a terminal (then prompts are shown).
    public static var inputIsTerminal: Bool { isatty(STDIN_FILENO) == 1 }
}
