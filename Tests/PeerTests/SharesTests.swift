import Foundation
import Synchronization
import Testing

@testable import Peer

/// The shares a daemon keeps and what they serve.
@Suite struct SharesTests {
    static func record(_ name: String, id: String, group: String = "team") -> ShareRecord {
        var info = stat()
        info.st_size = 1 << 20
        return ShareRecord(
            group: group, name: name, path: "/srv/\(name)", fileID: id, size: 1 << 20, pieceSize: 1 << 18,
            identity: FileIdentity(info))
    }

    @Test func aShareIsServedUntilRemovedAndItsDownloadersAreToldWhy() {
        let library = Library()
        var shares = Shares(library: library)
        let movie = Self.record("movie.mkv", id: "aa")
        shares.add(movie)
        shares.add(Self.record("notes.txt", id: "bb"))
        #expect(shares.count == 2 && shares.contains(fileID: "aa", in: "team"))
        #expect(shares.record(named: "movie.mkv", in: "team") == movie)
        #expect(shares.record(named: "movie.mkv", in: "other") == nil)
        let served = library.file(id: "aa", in: "team")
        #expect(served?.bitfield.setCount == 4, "every piece of a shared file is served")
        #expect(shares.statuses.map(\.name) == ["movie.mkv", "notes.txt"])

        let notices = Mutex<[ServedFile.Notice]>([])
        _ = served?.admit(ObjectIdentifier(library), serving: nil) { notice in notices.withLock { $0.append(notice) } }
        shares.remove(movie)
        #expect(library.file(id: "aa", in: "team") == nil && !shares.contains(fileID: "aa", in: "team"))
        guard case .withdrawn(let reason) = notices.withLock({ $0.first }) else {
            Issue.record("the downloader was not told")
            return
        }
        #expect(reason == "movie.mkv is no longer shared by this peer")
    }

    @Test func theSameFileSharedInTwoGroupsIsTwoSharesEachServedToItsGroup() {
        let library = Library()
        var shares = Shares(library: library)
        let forTeam = Self.record("movie.mkv", id: "aa")
        let forFriends = Self.record("movie.mkv", id: "aa", group: "friends")
        shares.add(forTeam)
        shares.add(forFriends)
        #expect(shares.count == 2)
        #expect(library.file(id: "aa", in: "team")?.group == "team")
        #expect(library.file(id: "aa", in: "friends")?.group == "friends")
        shares.remove(forTeam)
        #expect(library.file(id: "aa", in: "team") == nil && !shares.contains(fileID: "aa", in: "team"))
        #expect(library.file(id: "aa", in: "friends") != nil, "the other group's share is still served")
        #expect(shares.statuses.map(\.group) == ["friends"])
    }
}
