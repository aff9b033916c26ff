import Foundation
import Swarm
import Synchronization
import TandemCrypto

/// How far a hashing run has come, read by whoever shows progress while worker threads hash.
final class HashProgress: Sendable {
    /// Bytes hashed so far.
    let bytes = Atomic<UInt64>(0)
    /// Bytes to hash in all.
    let total: UInt64

    init(total: UInt64) { self.total = total }
}

/// SHA1 of a file's pieces, on several threads at once, each reading its own stretch of the file into one
/// piece-sized buffer: memory is threads × piece size, whatever the file's size.
enum PieceHasher {
    /// The digests (20 bytes each) of `pieces` of `file`, in the order given.
    static func digests(
        of file: PieceFile, layout: PieceLayout, pieces: [Int], threads: Int, progress: HashProgress
    ) throws(PeerError) -> [[UInt8]] {
        guard !pieces.isEmpty else { return [] }
        let workers = max(1, min(threads, pieces.count))
        let results = Mutex<[[UInt8]]>([[UInt8]](repeating: [], count: pieces.count))
        let failure = Mutex<PeerError?>(nil)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            // Contiguous stretches: each thread reads its part of the file in order, which the kernel reads ahead.
            let range = (pieces.count * worker / workers)..<(pieces.count * (worker + 1) / workers)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: layout.pieceSize, alignment: 4096)
            defer { buffer.deallocate() }
            var digests: [[UInt8]] = []
            digests.reserveCapacity(range.count)
            do throws(PeerError) {
                for position in range {
                    guard failure.withLock({ $0 == nil }) else { return }
                    digests.append(try file.digest(of: pieces[position], layout: layout, buffer: buffer))
                    progress.bytes.add(UInt64(layout.length(of: pieces[position])), ordering: .relaxed)
                }
            } catch {
                failure.withLock { $0 = $0 ?? error }
                return
            }
            results.withLock { $0.replaceSubrange(range, with: digests) }
        }
        if let error = failure.withLock({ $0 }) { throw error }
        return results.withLock { $0 }
    }
}
