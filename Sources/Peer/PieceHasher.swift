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
/// piece-sized buffer: memory is threads × piece size, whatever the file's size. The threads are Dispatch's,
/// never the caller's: an actor or an event loop that awaits the digests goes on serving meanwhile.
enum PieceHasher {
    /// The digests (20 bytes each) of `pieces` of `file`, in the order given.
    ///
    /// - Throws: ``PeerError`` when reading fails; `CancellationError` when the task is cancelled (hashing stops
    ///   within a piece per thread).
    static func digests(
        of file: PieceFile, layout: PieceLayout, pieces: [Int], threads: Int, progress: HashProgress
    ) async throws -> [[UInt8]] {
        guard !pieces.isEmpty else { return [] }
        let cancelled = StopFlag()
        let result = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                DispatchQueue.global(qos: .userInitiated).async {
                    continuation.resume(
                        with: Result { () throws(PeerError) in
                            try Self.digests(
                                of: file, layout: layout, pieces: pieces, threads: threads, progress: progress,
                                cancelled: cancelled)
                        })
                }
            }
        } onCancel: {
            cancelled.isSet.store(true, ordering: .relaxed)
        }
        try Task.checkCancellation()
        return result
    }

    /// Hashes on `threads` threads, the calling one among them, until done or `cancelled`.
    private static func digests(
        of file: PieceFile, layout: PieceLayout, pieces: [Int], threads: Int, progress: HashProgress,
        cancelled: StopFlag
    ) throws(PeerError) -> [[UInt8]] {
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
                    guard failure.withLock({ $0 == nil }), !cancelled.isSet.load(ordering: .relaxed) else { return }
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

/// Set when the task waiting for a hashing run is cancelled: the threads stop before their next piece.
private final class StopFlag: Sendable {
    let isSet = Atomic<Bool>(false)
}
