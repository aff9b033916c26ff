import Wire

/// Users and sessions: the checks and changes behind `CREATE_USER`, `LOGIN` and `LOGOUT`.
extension TrackerState {
    // MARK: Checks

    func checkCreateUser(_ user: String) throws(Refusal) {
        guard NameRules.isValidAccountName(user) else { throw .invalidUserName }
        guard self.users[user] == nil else { throw .userExists(user) }
    }

    func checkOpenSession(user: String, token: String) throws(Refusal) {
        guard self.users[user] != nil else { throw .noUser(user) }
        guard !token.isEmpty else { throw .emptyToken }
        guard self.sessions[token] == nil else { throw .tokenInUse }
    }

    func checkCloseSession(token: String) throws(Refusal) {
        guard self.sessions[token] != nil else { throw .noSession }
    }

    // MARK: Changes (after the checks passed)

    mutating func performCreateUser(_ user: String, password: PasswordHash) -> Reply {
        self.users[user] = UserRecord(password: password)
        return .ok
    }

    /// Opens the session; when the user already holds ``maxSessionsPerUser`` sessions, closes the oldest, so that
    /// every tracker closes the same one.
    mutating func performOpenSession(user: String, token: String) -> Reply {
        self.sessions[token] = user
        self.users[user]?.sessions.append(token)
        if let sessions = self.users[user]?.sessions, sessions.count > Self.maxSessionsPerUser {
            for oldest in sessions.prefix(sessions.count - Self.maxSessionsPerUser) {
                self.sessions[oldest] = nil
            }
            self.users[user]?.sessions.removeFirst(sessions.count - Self.maxSessionsPerUser)
        }
        return .token(token)
    }

    /// Closes the session. Seeders stay registered: a peer keeps seeding after its user logs out.
    mutating func performCloseSession(token: String) -> Reply {
        if let user = self.sessions.removeValue(forKey: token) {
            self.users[user]?.sessions.removeAll { $0 == token }
        }
        return .ok
    }
}
