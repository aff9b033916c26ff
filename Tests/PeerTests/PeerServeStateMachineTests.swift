import Foundation
import NIOCore
import Swarm
import Testing
import Wire

@testable import Peer

/// The serving discipline alone: every transition of a downloader's connection, every refusal.
@Suite struct PeerServeStateMachineTests {
    /// A file of three pieces of 16 bytes and one of 4, with pieces 0 and 1 present.
    struct File: ServablePieces, Equatable {
        var group = "team"
        var name = "movie.mkv"
        var layout = PieceLayout(fileSize: 52, pieceSize: 16)
        var present: Set<Int> = [0, 1]

        func has(_ index: Int) -> Bool { self.present.contains(index) }
    }

    struct Catalog: ServableCatalog {
        var files: [String: File] = ["aa": File()]

        func file(id fileIDHex: String, in group: String) -> File? {
            self.files[fileIDHex].flatMap { $0.group == group ? $0 : nil }
        }
        func file(named text: String, in group: String) -> File? {
            self.file(id: text, in: group) ?? self.files.values.first { $0.group == group && $0.name == text }
        }
    }

    typealias Machine = PeerServeStateMachine<File>

    static let hello = PeerHello(fileID: [0xAA], group: "team", user: "bob", proof: [1, 2], listenPort: 0)

    /// A machine whose binary downloader has been admitted.
    static func admitted(maxQueued: Int = 4) -> Machine {
        var machine = Machine(maxQueued: maxQueued)
        _ = machine.received(.preface, catalog: Catalog())
        _ = machine.received(.request(.hello(Self.hello)), catalog: Catalog())
        _ = machine.accessChecked(.admitted)
        return machine
    }

    /// A machine whose text client's `HELLO` has been accepted.
    static func textAdmitted() -> Machine {
        var machine = Machine(maxQueued: 4)
        _ = machine.received(.text(.hello(user: "bob", group: "team", proof: [1])), catalog: Catalog())
        _ = machine.accessChecked(.admitted)
        return machine
    }

    @Test func binaryHandshakeAsksTheTrackerThenAdmits() {
        var machine = Machine(maxQueued: 4)
        guard case .sendPreface = machine.received(.preface, catalog: Catalog()) else { Issue.record(); return }
        #expect(machine.isBinary)
        guard
            case .checkAccess("bob", "team", [1, 2]) = machine.received(
                .request(.hello(Self.hello)), catalog: Catalog())
        else { Issue.record("no access check"); return }
        guard case .admit(let file, let hello) = machine.accessChecked(.admitted) else {
            Issue.record("not admitted")
            return
        }
        #expect(file == File() && hello == Self.hello)
        #expect(!machine.isClosed)
    }

    @Test func helloForAFileNotServedHereFails() {
        var machine = Machine(maxQueued: 4)
        var hello = Self.hello
        hello.group = "other"
        guard case .fail(.notFound, let message) = machine.received(.request(.hello(hello)), catalog: Catalog()) else {
            Issue.record("not refused")
            return
        }
        #expect(message == "this peer does not serve file aa in other")
        #expect(machine.isClosed)
        hello.fileID = [0xBB]
        var other = Machine(maxQueued: 4)
        guard case .fail(.notFound, _) = other.received(.request(.hello(hello)), catalog: Catalog()) else {
            Issue.record("unknown id not refused")
            return
        }
    }

    @Test(arguments: [
        (AccessVerdict.refused("not a member"), ErrorCode.forbidden, "bob may not download from team: not a member"),
        (.unavailable("tracker down"), .unavailable, "tracker down; try again shortly"),
    ])
    func binaryRefusalsEndTheConnection(verdict: AccessVerdict, code: ErrorCode, message: String) {
        var machine = Machine(maxQueued: 4)
        _ = machine.received(.request(.hello(Self.hello)), catalog: Catalog())
        guard case .fail(code, message) = machine.accessChecked(verdict) else {
            Issue.record("not failed with \(code)")
            return
        }
        #expect(machine.isClosed)
        guard case .none = machine.accessChecked(.admitted) else { Issue.record("a late answer acted"); return }
    }

    @Test func requestsBeforeTheWelcomeOrTheHelloFail() {
        let range = PieceRange(piece: 0, offset: 0, length: 16)
        var early = Machine(maxQueued: 4)
        guard case .fail(.badRequest, let before) = early.received(.request(.request(range)), catalog: Catalog())
        else { Issue.record(); return }
        #expect(before.contains("before the hello"))

        var checking = Machine(maxQueued: 4)
        _ = checking.received(.request(.hello(Self.hello)), catalog: Catalog())
        guard case .fail(.badRequest, let pipelined) = checking.received(.request(.cancel(range)), catalog: Catalog())
        else { Issue.record(); return }
        #expect(pipelined.contains("before the welcome"))
        guard case .none = checking.accessChecked(.admitted) else { Issue.record("closed, yet admitted"); return }

        var twice = Self.admitted()
        guard
            case .fail(.badRequest, "hello sent twice") = twice.received(
                .request(.hello(Self.hello)), catalog: Catalog())
        else { Issue.record(); return }
    }

    @Test func eachQueuedRequestIsCheckedWhenItsTurnComes() {
        var machine = Self.admitted()
        let requests = [
            PieceRange(piece: 1, offset: 4, length: 12),
            PieceRange(piece: 2, offset: 0, length: 16),
            PieceRange(piece: 9, offset: 0, length: 16),
            PieceRange(piece: 0, offset: 8, length: 9),
        ]
        for range in requests {
            guard case .pump = machine.received(.request(.request(range)), catalog: Catalog()) else {
                Issue.record("not queued")
                return
            }
        }
        var answers: [String] = []
        while let next = machine.nextPiece() {
            switch next {
            case .send(let range, _, text: false): answers.append("send \(range.piece)")
            case .reject(_, let code, let message, text: false): answers.append("\(code.rawValue): \(message)")
            default: Issue.record("answered as text")
            }
        }
        #expect(
            answers == [
                "send 1",
                "not_found: piece 2 is not here yet",
                "invalid: piece 9 is out of range: the file has 4 pieces",
                "invalid: bytes 8+9 are outside piece 0 of 16 bytes",
            ])
        #expect(!machine.isClosed)
    }

    @Test func anEmptyRangeAndTheShortLastPieceAreChecked() {
        var file = File()
        file.present = [3]
        let catalog = Catalog(files: ["aa": file])
        var machine = Machine(maxQueued: 4)
        _ = machine.received(.request(.hello(Self.hello)), catalog: catalog)
        _ = machine.accessChecked(.admitted)
        _ = machine.received(.request(.request(PieceRange(piece: 3, offset: 0, length: 0))), catalog: catalog)
        _ = machine.received(.request(.request(PieceRange(piece: 3, offset: 0, length: 4))), catalog: catalog)
        _ = machine.received(.request(.request(PieceRange(piece: 3, offset: 0, length: 5))), catalog: catalog)
        guard case .reject(_, .invalid, _, _) = machine.nextPiece(),
            case .send(PieceRange(piece: 3, offset: 0, length: 4), _, _) = machine.nextPiece(),
            case .reject(_, .invalid, "bytes 0+5 are outside piece 3 of 4 bytes", _) = machine.nextPiece()
        else {
            Issue.record("ranges not checked against the last piece")
            return
        }
        #expect(machine.nextPiece() == nil)
    }

    @Test func aCancelledRequestIsNotServed() {
        var machine = Self.admitted()
        let first = PieceRange(piece: 0, offset: 0, length: 16)
        let second = PieceRange(piece: 1, offset: 0, length: 16)
        _ = machine.received(.request(.request(first)), catalog: Catalog())
        _ = machine.received(.request(.request(second)), catalog: Catalog())
        guard case .none = machine.received(.request(.cancel(first)), catalog: Catalog()) else {
            Issue.record(); return
        }
        #expect(machine.queuedCount == 1)
        guard case .send(second, _, _) = machine.nextPiece() else { Issue.record("wrong request served"); return }
    }

    @Test func oneRequestOverTheQueueBoundEndsTheConnection() {
        var machine = Self.admitted(maxQueued: 3)
        let range = PieceRange(piece: 0, offset: 0, length: 16)
        for _ in 0..<3 { _ = machine.received(.request(.request(range)), catalog: Catalog()) }
        guard case .fail(.tooLarge, let message) = machine.received(.request(.request(range)), catalog: Catalog())
        else {
            Issue.record("flood not refused")
            return
        }
        #expect(message.contains("more than 3 requests queued"))
        #expect(machine.isClosed && machine.queuedCount == 0 && machine.nextPiece() == nil)
    }

    @Test func badBinaryInputEndsTheConnectionAndBadTextDoesNot() {
        var binary = Self.admitted()
        guard
            case .fail(.tooLarge, _) = binary.received(
                .invalid(.frameTooLarge(length: 1 << 20, limit: 1 << 16), binary: true), catalog: Catalog())
        else { Issue.record(); return }
        #expect(binary.isClosed)

        var text = Machine(maxQueued: 4)
        guard
            case .sendError(.unknownCommand, _) = text.received(
                .invalid(.unknownCommand("NOPE"), binary: false), catalog: Catalog())
        else { Issue.record(); return }
        #expect(!text.isClosed)
        guard
            case .fail(.tooLarge, _) = text.received(
                .invalid(.lineTooLong(limit: 10), binary: false), catalog: Catalog())
        else { Issue.record("a fatal text error did not end it"); return }
        #expect(text.isClosed)
        guard case .none = text.received(.preface, catalog: Catalog()) else { Issue.record("read after close"); return }
    }

    @Test func textClientsAreRefusedAndMayTryAgain() {
        var machine = Machine(maxQueued: 4)
        guard
            case .sendError(.notLoggedIn, _) = machine.received(
                .text(.getPiece(file: "aa", index: 0)), catalog: Catalog())
        else { Issue.record(); return }
        _ = machine.received(.text(.hello(user: "bob", group: "team", proof: [1])), catalog: Catalog())
        guard case .sendError(.forbidden, "not a member") = machine.accessChecked(.refused("not a member")) else {
            Issue.record()
            return
        }
        _ = machine.received(.text(.hello(user: "bob", group: "team", proof: [1])), catalog: Catalog())
        guard case .sendError(.unavailable, "down; try again shortly") = machine.accessChecked(.unavailable("down"))
        else { Issue.record(); return }
        _ = machine.received(.text(.hello(user: "bob", group: "team", proof: [1])), catalog: Catalog())
        guard case .sendOK = machine.accessChecked(.admitted) else { Issue.record("third try not admitted"); return }
        guard
            case .sendError(.badRequest, "HELLO was already sent") = machine.received(
                .text(.hello(user: "bob", group: "team", proof: [1])), catalog: Catalog())
        else { Issue.record(); return }
        #expect(!machine.isClosed)
    }

    @Test func textPiecesAreWholePiecesOfAnyFileOfTheGroup() {
        var machine = Self.textAdmitted()
        guard case .pump = machine.received(.text(.getPiece(file: "movie.mkv", index: 1)), catalog: Catalog()),
            case .pump = machine.received(.text(.getPiece(file: "aa", index: 7)), catalog: Catalog())
        else { Issue.record("not queued"); return }
        guard case .send(PieceRange(piece: 1, offset: 0, length: 16), _, text: true) = machine.nextPiece(),
            case .reject(_, .invalid, _, text: true) = machine.nextPiece()
        else { Issue.record("not served as text"); return }
        guard
            case .sendError(.notFound, "this peer does not serve other.iso in team") = machine.received(
                .text(.getPiece(file: "other.iso", index: 0)), catalog: Catalog())
        else { Issue.record(); return }
    }

    @Test func laterEventsEndAnAdmittedConnectionOnly() {
        var idle = Machine(maxQueued: 4)
        guard case .none = idle.accessRevoked("left"), case .none = idle.withdrawn("gone"),
            case .none = idle.openFailed(.io("open", "/srv/movie.mkv", errno: EIO))
        else { Issue.record("acted before admission"); return }
        guard case .fail(.badRequest, "no hello within 5 s; closing") = idle.greetingTimedOut(after: .seconds(5))
        else { Issue.record(); return }

        var revoked = Self.admitted()
        guard case .none = revoked.greetingTimedOut(after: .seconds(5)) else { Issue.record(); return }
        guard case .fail(.forbidden, "bob may no longer download from team: left") = revoked.accessRevoked("left")
        else { Issue.record(); return }

        var withdrawn = Self.admitted()
        guard
            case .fail(.notFound, "movie.mkv is no longer shared") = withdrawn.withdrawn(
                "movie.mkv is no longer shared")
        else { Issue.record(); return }

        var unopened = Self.admitted()
        guard case .fail(.unavailable, let message) = unopened.openFailed(.io("open", "/srv/movie.mkv", errno: EIO)),
            message == "cannot serve movie.mkv: cannot open /srv/movie.mkv: Input/output error"
        else {
            Issue.record()
            return
        }

        var stalled = Self.admitted()
        guard case .close = stalled.stalled() else { Issue.record(); return }
        stalled.closed()
        guard case .none = stalled.stalled() else { Issue.record("closed twice"); return }

        // A connection that failed while it does not read keeps its error in the queue: the stall closes it.
        var failedWhileStalled = Self.admitted(maxQueued: 1)
        let range = PieceRange(piece: 0, offset: 0, length: 16)
        _ = failedWhileStalled.received(.request(.request(range)), catalog: Catalog())
        guard case .fail(.tooLarge, _) = failedWhileStalled.received(.request(.request(range)), catalog: Catalog()),
            case .close = failedWhileStalled.stalled()
        else { Issue.record("a failed connection that does not read is never closed"); return }
    }
}
