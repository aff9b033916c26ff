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

    /// The session token of a `LOGIN` reply.
    public func expectToken() throws(ClientError) -> String {
        try self.expect("a session token") { if case .token(let token) = $0 { token } else { nil } }
    }

    /// The user name of a `WHOAMI` or `RESUME` reply.
    public func expectUser() throws(ClientError) -> String {
        try self.expect("the session's user") { if case .user(let name) = $0 { name } else { nil } }
    }

    /// The file id of an `UPLOAD_FILE` reply.
    public func expectFileID() throws(ClientError) -> String {
        try self.expect("the file id") { if case .fileID(let id) = $0 { id } else { nil } }
    }

    /// The metadata and seeders of a `DOWNLOAD_FILE` reply.
    public func expectFileInfo() throws(ClientError) -> FileInfo {
        try self.expect("the file's metadata") { if case .fileInfo(let info) = $0 { info } else { nil } }
    }

    /// The files of a `LIST_FILES` reply.
    public func expectFiles() throws(ClientError) -> [FileEntry] {
        try self.expect("a file list") { if case .files(let files) = $0 { files } else { nil } }
    }

    /// The groups of a `LIST_GROUPS` reply.
    public func expectGroups() throws(ClientError) -> [GroupEntry] {
        try self.expect("a group list") { if case .groups(let groups) = $0 { groups } else { nil } }
    }

    /// The users of a `LIST_REQUESTS` reply.
    public func expectUsers() throws(ClientError) -> [String] {
        try self.expect("a user list") { if case .users(let users) = $0 { users } else { nil } }
    }

    /// The nonce of an admin command's `CHALLENGE`.
    public func expectChallenge() throws(ClientError) -> [UInt8] {
        try self.expect("a challenge") { if case .challenge(let nonce) = $0 { nonce } else { nil } }
    }

    /// A page of a tracker's op log (`READ_LOG`).
    public func expectLogPage() throws(ClientError) -> LogPage {
        try self.expect("a page of the op log") { if case .logPage(let page) = $0 { page } else { nil } }
    }

    /// The fields of a `STATUS` reply.
    public func expectStatus() throws(ClientError) -> [StatusField] {
        try self.expect("a status") { if case .status(let fields) = $0 { fields } else { nil } }
    }
}
