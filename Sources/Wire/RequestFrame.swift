/// A ``Request`` with the id its reply will carry: what a binary client sends in one frame.
public struct RequestFrame: Hashable, Sendable {
    /// Chosen by the client; the tracker copies it into the ``ReplyFrame`` and uses it to apply a retried write
    /// once.
    public var requestID: UInt32
    /// The request itself.
    public var request: Request

    /// Pairs a request with its id.
    public init(requestID: UInt32, request: Request) {
        self.requestID = requestID
        self.request = request
    }
}
