import Foundation

/// The session token `tandemctl login` stores in `<home>/session` (mode 0600, in a 0700 directory).
struct SessionStore: Sendable {
    /// The directory holding the session file.
    let home: String

    /// `<home>/session`.
    var path: String { self.home + "/session" }

    /// The stored token, or nil when nobody is logged in.
    func load() throws(CtlError) -> String? {
        guard let text = try PrivateFile.read(self.path) else { return nil }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return token.isEmpty ? nil : token
    }

    /// Stores `token`, replacing any earlier session.
    func save(_ token: String) throws(CtlError) {
        try PrivateFile.makeDirectory(self.home)
        try PrivateFile.write(token + "\n", to: self.path)
    }

    /// Forgets the session.
    func clear() throws(CtlError) {
        try PrivateFile.remove(self.path)
    }
}
