/// A ``Reply`` with the id of the request it answers: what the tracker sends in one binary frame.
public struct ReplyFrame: Hashable, Sendable {
    /// The ``RequestFrame/requestID`` of the request answered, or 0 for an error about a frame whose id could not
    /// be read.
    public var requestID: UInt32
    /// The reply itself.
    public var reply: Reply

    /// Pairs a reply with the id of the request it answers.
    public init(requestID: UInt32, reply: Reply) {
        self.requestID = requestID
        self.reply = reply
    }
}
