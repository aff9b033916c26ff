import Foundation

/// The session token `tandemctl login` stores in `<home>/session` (mode 0600, in a 0700 directory).
public struct SessionStore: Sendable {
    /// The directory holding the session file.
    public let home: String

    /// The store in `home`.
    public init(home: String) { self.home = home }

    /// `<home>/session`.
    public var path: String { self.home + "/session" }

    /// The stored token, or nil when nobody is logged in.
    ///
    /// - Throws: ``ClientError/usage(_:)`` when the home is not the user's own (``PrivateFile/checkOwnDirectory(_:)``).
    public func load() throws(ClientError) -> String? {
        try self.checkHome()
        guard let text = try PrivateFile.read(self.path) else { return nil }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return token.isEmpty ? nil : token
    }

    /// Refuses a home that exists and is not the user's own (``PrivateFile/checkOwnDirectory(_:)``): a login checks
    /// this before it opens a session it could not store safely.
    public func checkHome() throws(ClientError) {
        guard FileManager.default.fileExists(atPath: self.home) else { return }
        try PrivateFile.checkOwnDirectory(self.home)
    }

    /// Stores `token`, replacing any earlier session.
    public func save(_ token: String) throws(ClientError) {
        try PrivateFile.makeOwnDirectory(self.home)
        try PrivateFile.write(token + "\n", to: self.path)
    }

    /// Forgets the session.
    public func clear() throws(ClientError) {
        try self.checkHome()
        try PrivateFile.remove(self.path)
    }
}
