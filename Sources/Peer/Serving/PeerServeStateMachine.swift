import NIOCore
import Swarm
import Wire

/// What the serving side needs to know of a file to decide about a request for it.
protocol ServablePieces {
    var group: String { get }
    var name: String { get }
    var layout: PieceLayout { get }
    /// Whether piece `index` can be served now.
    func has(_ index: Int) -> Bool
}

/// Where the serving side finds the files it serves.
protocol ServableCatalog<File> {
    associatedtype File: ServablePieces
    /// The file with this id (lowercase hex) shared in `group`.
    func file(id fileIDHex: String, in group: String) -> File?
    /// The file `text` names in `group`: by id, or by name.
    func file(named text: String, in group: String) -> File?
}

/// The serving discipline of one downloader connection, without the channel: the handshake, the access check,
/// which requests are queued, served or refused, and when the connection ends. ``PeerServerHandler`` feeds it
/// events and carries out the actions it returns.
///
/// - A binary downloader sends the preface, then a hello naming one file; it is admitted once the tracker says
///   its user is a member of the file's group, and then asks for ranges of that file's pieces.
/// - A text client sends `HELLO|user|group|proof`, then `GET_PIECE|file|index` for any file of that group. Its
///   mistakes are answered with an `ERR` line and the connection goes on; a binary client's end the connection.
/// - At most `maxQueued` requests wait; one more ends the connection (a downloader keeps its own pipeline
///   shorter than that).
/// - Each queued request is checked when its turn comes: a piece this peer does not have yet, or a range outside
///   the piece, is rejected and the connection goes on.
struct PeerServeStateMachine<File: ServablePieces> {
    /// What the handler does next.
    enum Action {
        /// Nothing.
        case none
        /// Answer the binary preface with this peer's.
        case sendPreface
        /// Ask the tracker whether `user`, with `proof`, is a member of `group`; report with ``accessChecked(_:)``.
        case checkAccess(user: String, group: String, proof: [UInt8])
        /// The binary downloader of `hello` is admitted for `file`: open it for serving (report a failure with
        /// ``openFailed(_:)``), list the connection with the file's downloaders, send the welcome, and recheck its
        /// access from time to time (report a refusal with ``accessRevoked(_:)``).
        case admit(File, PeerHello)
        /// Text: the `HELLO` is accepted; answer `OK`.
        case sendOK
        /// Text: answer with an `ERR` line; the connection goes on.
        case sendError(ErrorCode, String)
        /// Requests are queued: write pieces (``nextPiece()``) while the channel is writable.
        case pump
        /// Send the error (a frame, or an `ERR` line to a text client), then close.
        case fail(ErrorCode, String)
        /// Close now.
        case close
    }

    /// One queued request's turn, from ``nextPiece()``.
    enum Piece {
        /// Send these bytes of `file` (a piece frame, or an `OK|index|length` line and the bytes).
        case send(PieceRange, of: File, text: Bool)
        /// Refuse this request (a rejection frame, or an `ERR` line); the connection goes on.
        case reject(PieceRange, ErrorCode, String, text: Bool)
    }

    private enum State {
        /// Waiting for the hello (binary) or `HELLO` (text).
        case greeting
        /// The tracker is being asked about a binary hello for `file`.
        case checking(PeerHello, File)
        /// The tracker is being asked about a text `HELLO` for `group`.
        case checkingText(user: String, group: String)
        /// Binary: `user` is admitted for one file.
        case serving(File, user: String)
        /// Text: `user` is admitted for a group's files.
        case servingText(user: String, group: String)
        case closed
    }

    private struct Queued {
        let range: PieceRange
        let file: File
        let text: Bool
    }

    /// How many requests a downloader may have queued; more is a protocol error.
    let maxQueued: Int
    private var state = State.greeting
    /// Whether the channel itself has closed; a failed connection is ``isClosed`` before that, while its error is
    /// on its way.
    private var channelClosed = false
    private var queue = CircularBuffer<Queued>()
    /// Whether the client sent the binary preface: errors then go out as frames, and end the connection.
    private(set) var isBinary = false

    /// The user the tracker admitted on this connection; nil before that and once it has closed.
    var admittedUser: String? {
        switch self.state {
        case .serving(_, let user), .servingText(let user, _): user
        case .greeting, .checking, .checkingText, .closed: nil
        }
    }

    init(maxQueued: Int) {
        precondition(maxQueued > 0, "a downloader must be able to queue a request")
        self.maxQueued = maxQueued
    }

    /// Whether the connection has ended, or is ending.
    var isClosed: Bool {
        if case .closed = self.state { true } else { false }
    }

    /// The requests waiting for their turn.
    var queuedCount: Int { self.queue.count }

    // MARK: Input

    /// The decoder produced `inbound`; `catalog` says which files this peer serves.
    mutating func received(_ inbound: PeerInbound, catalog: some ServableCatalog<File>) -> Action {
        guard !self.isClosed else { return .none }
        switch inbound {
        case .preface:
            self.isBinary = true
            return .sendPreface
        case .request(let request):
            return self.received(request, catalog: catalog)
        case .text(let command):
            return self.received(command, catalog: catalog)
        case .invalid(let error, let binary):
            if binary || error.isFatal { return self.fail(error.code, error.description) }
            return .sendError(error.code, error.description)
        }
    }

    private mutating func received(_ request: PeerRequest, catalog: some ServableCatalog<File>) -> Action {
        switch (request, self.state) {
        case (.hello(let hello), .greeting):
            let fileIDHex = Hex.encode(hello.fileID)
            guard let file = catalog.file(id: fileIDHex, in: hello.group) else {
                return self.fail(
                    .notFound, "this peer does not serve file \(fileIDHex.prefix(40)) in \(hello.group.prefix(64))")
            }
            self.state = .checking(hello, file)
            return .checkAccess(user: hello.user, group: file.group, proof: hello.proof)
        case (.hello, _):
            return self.fail(.badRequest, "hello sent twice")
        case (.request(let range), .serving(let file, _)):
            return self.enqueue(Queued(range: range, file: file, text: false))
        case (.cancel(let range), .serving):
            if let index = self.queue.firstIndex(where: { $0.range == range }) { self.queue.remove(at: index) }
            return .none
        case (.request, .checking), (.cancel, .checking):
            return self.fail(.badRequest, "request sent before the welcome; wait for it")
        case (.request, _), (.cancel, _):
            return self.fail(.badRequest, "request before the hello; start with a hello naming the file")
        }
    }

    private mutating func received(_ command: PeerTextCommand, catalog: some ServableCatalog<File>) -> Action {
        switch (command, self.state) {
        case (.hello(let user, let group, let proof), .greeting):
            self.state = .checkingText(user: user, group: group)
            return .checkAccess(user: user, group: group, proof: proof)
        case (.hello, _):
            return .sendError(.badRequest, "HELLO was already sent")
        case (.getPiece(let name, let index), .servingText(_, let group)):
            guard let file = catalog.file(named: name, in: group) else {
                return .sendError(.notFound, "this peer does not serve \(name.prefix(64)) in \(group)")
            }
            let length = Int(index) < file.layout.pieceCount ? file.layout.length(of: Int(index)) : 0
            let range = PieceRange(piece: index, offset: 0, length: UInt32(length))
            return self.enqueue(Queued(range: range, file: file, text: true))
        case (.getPiece, _):
            return .sendError(
                .notLoggedIn,
                "send a HELLO line with your user, the group and its proof first (tandemctl proof GROUP prints it)")
        }
    }

    // MARK: Access

    /// The tracker answered the check ``Action/checkAccess(user:group:proof:)`` asked for.
    mutating func accessChecked(_ verdict: AccessVerdict) -> Action {
        switch (self.state, verdict) {
        case (.checking(let hello, let file), .admitted):
            self.state = .serving(file, user: hello.user)
            return .admit(file, hello)
        case (.checking(let hello, let file), .refused(let message)):
            return self.fail(.forbidden, "\(hello.user) may not download from \(file.group): \(message)")
        case (.checking, .unavailable(let message)):
            return self.fail(.unavailable, "\(message); try again shortly")
        case (.checkingText(let user, let group), .admitted):
            self.state = .servingText(user: user, group: group)
            return .sendOK
        case (.checkingText, .refused(let message)):
            self.state = .greeting
            return .sendError(.forbidden, message)
        case (.checkingText, .unavailable(let message)):
            self.state = .greeting
            return .sendError(.unavailable, "\(message); try again shortly")
        case (.greeting, _), (.serving, _), (.servingText, _), (.closed, _):
            return .none
        }
    }

    /// The file an admitted downloader asked for could not be opened.
    mutating func openFailed(_ error: PeerError) -> Action {
        guard case .serving(let file, _) = self.state else { return .none }
        return self.fail(.unavailable, "cannot serve \(file.name): \(error)")
    }

    /// A later check found the admitted downloader no longer a member (it left the group, or logged out).
    mutating func accessRevoked(_ message: String) -> Action {
        guard case .serving(let file, let user) = self.state else { return .none }
        return self.fail(.forbidden, "\(user) may no longer download from \(file.group): \(message)")
    }

    /// This peer stopped serving the file the downloader was admitted for.
    mutating func withdrawn(_ reason: String) -> Action {
        guard case .serving = self.state else { return .none }
        return self.fail(.notFound, reason)
    }

    // MARK: Time

    /// The peer timeout passed since the connection opened: one still without a hello is closed.
    mutating func greetingTimedOut(after timeout: TimeAmount) -> Action {
        guard case .greeting = self.state else { return .none }
        return self.fail(.badRequest, "no hello within \(timeout); closing")
    }

    /// The channel stayed unwritable for the peer timeout: the downloader does not read what it asked for. This
    /// closes a connection whose error is stuck behind what it does not read, too.
    mutating func stalled() -> Action {
        guard !self.channelClosed else { return .none }
        self.state = .closed
        self.queue.removeAll()
        return .close
    }

    // MARK: Serving

    /// The next queued request to answer; nil when none waits. Call it only while the channel is writable.
    mutating func nextPiece() -> Piece? {
        guard !self.isClosed, let request = self.queue.popFirst() else { return nil }
        let layout = request.file.layout
        let range = request.range
        let piece = Int(range.piece)
        if !request.file.has(piece) {
            if piece < layout.pieceCount {
                return .reject(range, .notFound, "piece \(piece) is not here yet", text: request.text)
            }
            return .reject(
                range, .invalid, "piece \(piece) is out of range: the file has \(layout.pieceCount) pieces",
                text: request.text)
        }
        let pieceLength = layout.length(of: piece)
        if range.length == 0 || UInt64(range.offset) + UInt64(range.length) > UInt64(pieceLength) {
            return .reject(
                range, .invalid,
                "bytes \(range.offset)+\(range.length) are outside piece \(piece) of \(pieceLength) bytes",
                text: request.text)
        }
        return .send(range, of: request.file, text: request.text)
    }

    /// The channel closed.
    mutating func closed() {
        self.channelClosed = true
        self.state = .closed
        self.queue.removeAll()
    }

    private mutating func enqueue(_ request: Queued) -> Action {
        guard self.queue.count < self.maxQueued else {
            return self.fail(
                .tooLarge, "more than \(self.maxQueued) requests queued; wait for pieces before asking for more")
        }
        self.queue.append(request)
        return .pump
    }

    private mutating func fail(_ code: ErrorCode, _ message: String) -> Action {
        self.state = .closed
        self.queue.removeAll()
        return .fail(code, message)
    }
}
