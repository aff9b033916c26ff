import Wire

extension Reply {
    /// Throws the error this reply carries: ``ClientError/notLoggedIn`` or ``ClientError/refused(_:)``.
    public func throwIfError() throws(ClientError) {
        guard case .error(let code, let message) = self else { return }
        throw code == .notLoggedIn ? .notLoggedIn : .refused(message)
    }

    /// The value `extract` finds in this reply.
    ///
    /// - Parameter expected: what the caller waits for, named in the error when the reply is of another kind.
    /// - Throws: the reply's error, or ``ClientError/unexpectedReply(expected:reply:)``.
    public func expect<Value>(_ expected: String, _ extract: (Reply) -> Value?) throws(ClientError) -> Value {
        try self.throwIfError()
        guard let value = extract(self) else { throw .unexpectedReply(expected: expected, reply: self) }
        return value
    }

    /// Checks that the reply is `OK`.
    public func expectOK() throws(ClientError) {
        try self.expect("OK") { if case .ok = $0 { () } else { nil } }
    }
}
