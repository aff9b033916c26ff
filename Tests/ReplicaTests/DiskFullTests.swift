import Foundation
import Replica
import ReplicaCore
import Testing

/// A real ENOSPC from the kernel without a tiny mount: the next segment is a symlink to `/dev/full`.
///
/// `/dev/full` cannot be cut back after the failed write (ftruncate on a device fails), so this covers the
/// report of a full disk and the stop that follows a write that could not be undone, not the cut-back path.
@Suite(.enabled(if: FileManager.default.fileExists(atPath: "/dev/full"), "needs Linux's /dev/full"))
struct DiskFullTests {
    @Test func fullDiskIsReportedAndNothingUnsafeIsAcknowledged() async throws {
        try await withTemporaryDataDirectory { directory in
            let store = try openStore(directory, snapshotEveryOps: 1)
            // The epoch marker's snapshot rotated the log to segment 2; the first op's rotates it to segment 3,
            // which is the full device.
            let full = directory.segmentPath(firstSeq: 3)
            try FileManager.default.createSymbolicLink(atPath: full, withDestinationPath: "/dev/full")
            #expect(try await store.propose(.set(key: "durable", value: "1")) == nil)
            // That op's snapshot moves the log onto segment 3 in the background: the next op must find it there.
            let deadline = ContinuousClock.now + .seconds(20)
            while !FileManager.default.fileExists(atPath: directory.snapshotPath(seq: 2)) {
                guard ContinuousClock.now < deadline else {
                    Issue.record("no snapshot at seq 2 within 20 s")
                    return
                }
                try await Task.sleep(for: .milliseconds(5))
            }

            let expected = ReplicaError.io("write", path: full, errno: ENOSPC)
            await #expect(throws: expected) { try await store.propose(.set(key: "lost", value: "2")) }
            #expect(expected.isDiskFull)
            #expect(expected.description.contains("No space left on device"))
            // The failed write could not be cut back, so the store takes no more writes until a restart.
            await #expect(throws: expected) { try await store.propose(.set(key: "refused", value: "3")) }
            #expect(store.lastSeq == 2)
            #expect(store.read { $0 } == KeyValueMachine(entries: ["durable": "1"]))
            store.close()

            // Space is back (the device is gone): the restart recovers every acknowledged op and only those.
            try FileManager.default.removeItem(atPath: full)
            let reopened = try openStore(directory)
            defer { reopened.close() }
            #expect(reopened.lastSeq == 3, "the op, between two epoch markers")
            #expect(reopened.read { $0 } == KeyValueMachine(entries: ["durable": "1"]))
            #expect(try await reopened.propose(.set(key: "after", value: "restart")) == nil)
        }
    }
}
