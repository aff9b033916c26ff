import Dispatch
import NIOCore
import Synchronization
import TandemCrypto

/// Hashes one connection's piece bytes on a queue of its own, in the order they arrived, so that SHA1, the
/// largest cost of a download, runs on another core beside the event loop that receives and writes the bytes.
///
/// It holds the buffers it has not hashed yet (NIO's receive buffers, not copies) and says how many bytes
/// wait, so that the connection stops reading while too many do.
final class PieceDigester: @unchecked Sendable {
    // `stream` is used only on `queue`; `waiting` is atomic: that is what makes this type Sendable.
    private let queue: DispatchQueue
    private let stream = SHA1Stream()
    private let waiting = Atomic<Int>(0)

    init(label: String) {
        self.queue = DispatchQueue(label: label)
    }

    /// Bytes handed over and not hashed yet.
    var backlog: Int { self.waiting.load(ordering: .relaxed) }

    /// Adds the next bytes of the piece being received.
    func add(_ bytes: ByteBuffer) {
        let count = bytes.readableBytes
        self.waiting.add(count, ordering: .relaxed)
        self.queue.async {
            bytes.withUnsafeReadableBytes { self.stream.update($0) }
            self.waiting.subtract(count, ordering: .relaxed)
        }
    }

    /// Ends the piece: `done` gets its digest on `loop`, after every byte added before this call is hashed.
    func finish(on loop: any EventLoop, _ done: @escaping @Sendable ([UInt8]) -> Void) {
        self.queue.async {
            let digest = self.stream.finish()
            loop.execute { done(digest) }
        }
    }
}
