import NIOCore

/// The serving discipline of one client connection, without the channel: which request to serve next, when to
/// read from the socket, when to close. ``ClientConnectionHandler`` feeds it events and carries out its steps.
///
/// - One request is served at a time, in the order it arrived.
/// - At most `maxQueued` requests, holding at most about `maxQueuedBytes` of input, wait; past that, and while
///   the socket is not writable (the client is not reading its replies), reading pauses. So neither requests
///   nor replies pile up without bound.
/// - When the client half-closes, the requests already received are served, then the connection closes.
/// - When the tracker stops, the request in flight is finished, each waiting one is refused, no more are
///   decoded, then it closes.
/// - Closing while the client may still be sending is a lingering close: the output is closed after the last
///   reply (the client reads them all, then end of stream), and input is read and dropped until the client
///   closes too. Closing at once would make the kernel reset the connection and drop replies not yet delivered.
struct ClientConnectionStateMachine<Message> {
    /// What the handler does next.
    enum Step {
        /// Serve this message; report ``finished()`` once it is answered.
        case serve(Message)
        /// Answer this message with "shutting down" instead of serving it.
        case refuse(Message)
        /// Ask the socket for more bytes.
        case resumeReading
        /// Close the connection once every reply already written has reached the socket.
        case close
        /// Close the output once every reply already written has reached the socket, and keep reading (the
        /// input is dropped) until the client closes its side.
        case closeOutput
        /// Nothing to do until the next event.
        case wait
    }

    private let maxQueued: Int
    private let maxQueuedBytes: Int
    private var waiting = CircularBuffer<(message: Message, size: Int)>()
    private var queuedBytes = 0
    /// The input bytes of the message in flight.
    private var inFlightBytes = 0
    private var inFlight = false
    private var readPaused = false
    private var inputEnded = false
    private var stopping = false
    private var closeRequested = false
    private var closeIssued = false
    private var draining = false
    private(set) var isClosed = false

    /// A machine that lets at most `maxQueued` requests wait behind the one in flight, and takes no more once
    /// those waiting came from `maxQueuedBytes` of input.
    init(maxQueued: Int, maxQueuedBytes: Int) {
        precondition(maxQueued > 0 && maxQueuedBytes > 0, "a connection must be able to queue a request")
        self.maxQueued = maxQueued
        self.maxQueuedBytes = maxQueuedBytes
    }

    /// Whether another message may be queued now: the handler decodes the next one from its bytes only then.
    var hasRoom: Bool {
        !self.stopping && self.waiting.count < self.maxQueued && self.queuedBytes < self.maxQueuedBytes
    }

    /// The input bytes of the messages waiting and in flight: what the connection holds of the client's input
    /// beyond its unread bytes.
    var heldBytes: Int { self.queuedBytes + self.inFlightBytes }

    /// Whether the client has nothing pending here: no request in flight or waiting. Only such a connection may
    /// be closed for being idle; one whose request is slow (a write waiting for the backup) is not idle.
    var isIdle: Bool { !self.inFlight && self.waiting.isEmpty }

    /// Whether bytes from the client are still wanted; false once the connection is closing and only drains input.
    var acceptsInput: Bool { !self.draining && !self.isClosed }

    /// A message arrived from the client, decoded from `size` bytes.
    mutating func received(_ message: Message, size: Int) {
        guard !self.draining else { return }
        self.waiting.append((message, size))
        self.queuedBytes += size
    }

    /// The socket is ready for another read; true means read now, false means pause until a later step says
    /// ``Step/resumeReading``. Reading pauses while the queue is full, so bytes not yet decoded stay bounded too;
    /// a client that does not read its replies fills the queue and then stops being read.
    mutating func readRequested() -> Bool {
        if self.draining { return true }
        if !self.hasRoom || self.inputEnded || self.closeIssued {
            self.readPaused = true
            return false
        }
        return true
    }

    /// The message in flight has been answered.
    mutating func finished() {
        self.inFlight = false
        self.inFlightBytes = 0
    }

    /// The client will send nothing more, and every message it sent has been ``received(_:)``.
    mutating func inputClosed() {
        guard !self.inputEnded else { return }
        self.inputEnded = true
        if self.draining { self.closeIssued = false }
    }

    /// The tracker is stopping: finish what is in flight, refuse what waits, close.
    mutating func shutdownRequested() {
        self.stopping = true
    }

    /// The stream can no longer be trusted (a fatal decode error was answered): drop what waits and close.
    mutating func closeAfterInFlight() {
        self.closeRequested = true
        self.dropWaiting()
    }

    /// The connection closed. Returns true when no request is in flight, so whatever the connection held (a
    /// text session) can end now; otherwise it ends when that request finishes and ``isClosed`` is seen.
    mutating func channelClosed() -> Bool {
        self.isClosed = true
        self.dropWaiting()
        return !self.inFlight
    }

    /// The next thing to do, given whether the socket can take more replies now. Call it until it says
    /// ``Step/wait`` after every event.
    mutating func nextStep(writable: Bool) -> Step {
        guard !self.isClosed, !self.closeIssued else { return .wait }
        if self.readPaused, !self.inputEnded, !self.stopping, !self.closeRequested, self.hasRoom {
            self.readPaused = false
            return .resumeReading
        }
        guard !self.inFlight else { return .wait }
        if self.stopping, !self.waiting.isEmpty {
            // At most `maxQueued` refusals, written whether or not the client reads: then the lingering close
            // drops its input, so a client that sends everything before it reads gets to read them.
            return .refuse(self.popFirst())
        }
        if self.stopping || self.closeRequested {
            return self.issueClose()
        }
        guard writable else { return .wait }
        if !self.waiting.isEmpty {
            self.inFlight = true
            self.inFlightBytes = self.waiting.first!.size
            return .serve(self.popFirst())
        }
        if self.inputEnded {
            return self.issueClose()
        }
        return .wait
    }

    private mutating func issueClose() -> Step {
        self.closeIssued = true
        if self.inputEnded || self.draining { return .close }
        self.draining = true
        self.dropWaiting()
        return .closeOutput
    }

    private mutating func popFirst() -> Message {
        let (message, size) = self.waiting.removeFirst()
        self.queuedBytes -= size
        return message
    }

    private mutating func dropWaiting() {
        self.waiting.removeAll()
        self.queuedBytes = 0
    }
}
