import Foundation

/// Copies a child's output to ours line by line, each line prefixed with the child's name (`[t1] `).
///
/// Chunks arrive on Foundation's reader threads; complete lines are written under one lock shared by all
/// prefixers, so lines of different children never interleave. A last line without a newline is written at EOF.
final class LinePrefixer: @unchecked Sendable {
    /// One lock for every prefixer writing to the same terminal.
    static let outputLock = NSLock()

    private let prefix: Data
    private let output: FileHandle
    private let lock = NSLock()
    private var pending = Data()

    init(prefix: String, output: FileHandle) {
        self.prefix = Data(prefix.utf8)
        self.output = output
    }

    /// Reads `pipe` until EOF, forwarding every line.
    func forward(_ pipe: Pipe) {
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let chunk = handle.availableData
            if chunk.isEmpty {
                handle.readabilityHandler = nil
                self.finish()
            } else {
                self.append(chunk)
            }
        }
    }

    private func append(_ chunk: Data) {
        self.lock.lock()
        self.pending.append(chunk)
        guard let lastNewline = self.pending.lastIndex(of: UInt8(ascii: "\n")) else {
            self.lock.unlock()
            return
        }
        let complete = self.pending[..<(lastNewline + 1)]
        self.pending = Data(self.pending[(lastNewline + 1)...])
        self.lock.unlock()
        self.write(complete)
    }

    private func finish() {
        self.lock.lock()
        let rest = self.pending
        self.pending = Data()
        self.lock.unlock()
        if !rest.isEmpty { self.write(rest + Data("\n".utf8)) }
    }

    private func write(_ lines: Data) {
        var out = Data()
        for line in lines.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast() {
            out.append(self.prefix)
            out.append(contentsOf: line)
            out.append(UInt8(ascii: "\n"))
        }
        Self.outputLock.lock()
        self.output.write(out)
        Self.outputLock.unlock()
    }
}
