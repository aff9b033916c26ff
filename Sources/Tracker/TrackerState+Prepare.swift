import Wire

extension TrackerState {
    /// Decides what to do with `request`, reading the state and changing nothing.
    ///
    /// Every request except `CREATE_USER`, `LOGIN`, `RESUME`, `CLIENT`, `STATUS` and the admin commands needs
    /// `context.session` to name an open session; without one the reply is `not_logged_in`. Reads and refusals
    /// are answered at once
    /// (``Preparation/reply(_:)``); changes come back as an op to log and apply (``Preparation/write(_:)``), or as
    /// work for the shell first (hashing or verifying a password, the admin challenge).
    ///
    /// - Parameters:
    ///   - request: the decoded request.
    ///   - context: the connection's session and the peer's address.
    /// - Returns: what the shell does next.
    public func prepare(_ request: Request, context: RequestContext) -> Preparation {
        do throws(Refusal) {
            return try self.prepareOrRefuse(request, context: context)
        } catch {
            return .reply(error.reply)
        }
    }

    private func prepareOrRefuse(_ request: Request, context: RequestContext) throws(Refusal) -> Preparation {
        switch request {
        case .createUser(let user, let password):
            try self.checkCreateUser(user)
            guard NameRules.isValidPassword(password) else { throw .invalidPassword }
            return .hashNewPassword(user: user, password: password)
        case .login(let user, let password):
            return .verifyPassword(user: user, password: password, stored: self.users[user]?.password)
        case .resume(let token):
            guard let user = self.sessions[token] else { throw .noSession }
            return .reply(.user(user))
        case .quit(let mac):
            return .admin(.quit, mac: mac)
        case .promote(let mac):
            return .admin(.promote, mac: mac)
        case .switchover(let mac):
            return .admin(.switchover, mac: mac)
        case .readLog(let query, let mac):
            return .admin(.readLog(query), mac: mac)
        case .identify, .status:
            return .shell(request)
        case .logout:
            return try self.write(.closeSession(token: self.session(of: context).token))
        case .whoami:
            return try .reply(.user(self.session(of: context).user))
        case .createGroup(let group):
            let owner = try self.session(of: context).user
            try self.checkGroupQuota(of: owner, quotas: context.quotas)
            return try self.write(.createGroup(group: group, owner: owner))
        case .joinGroup(let group):
            return try self.write(.requestJoin(group: group, user: self.session(of: context).user))
        case .leaveGroup(let group):
            return try self.write(.leaveGroup(group: group, user: self.session(of: context).user))
        case .listGroups:
            return try .reply(self.listGroups(for: self.session(of: context).user))
        case .listRequests(let group):
            return try .reply(self.listRequests(group, user: self.session(of: context).user))
        case .rejectRequest(let group, let user):
            let owner = try self.session(of: context).user
            return try self.write(.rejectRequest(group: group, owner: owner, user: user))
        case .removeMember(let group, let user):
            let owner = try self.session(of: context).user
            return try self.write(.removeMember(group: group, owner: owner, user: user))
        case .acceptRequest(let group, let user):
            let owner = try self.session(of: context).user
            return try self.write(.acceptRequest(group: group, owner: owner, user: user))
        case .uploadFile(let group, let name, let size, let pieceHashes, let port):
            guard NameRules.isDisplaySafe(name) else { throw .misleadingFileName }
            let seeder = try Seeder(user: self.session(of: context).user, host: context.peerHost, port: port)
            let op = TrackerOp.addFile(group: group, name: name, size: size, pieceHashes: pieceHashes, seeder: seeder)
            try self.check(op)
            try self.checkFileQuota(
                of: seeder.user, metadataBytes: pieceHashes.bytes.count + name.utf8.count, quotas: context.quotas)
            return .write(op)
        case .listFiles(let group):
            return try .reply(self.listFiles(group, user: self.session(of: context).user))
        case .downloadFile(let group, let name):
            return try .reply(self.downloadFile(group, name: name, user: self.session(of: context).user))
        case .stopShare(let group, let name):
            return try self.write(.removeSeeder(group: group, name: name, user: self.session(of: context).user))
        case .newSeeder(let group, let name, let port):
            let seeder = try Seeder(user: self.session(of: context).user, host: context.peerHost, port: port)
            // The original form names no group: the file must be in exactly one of the user's groups.
            let found: String
            if let group {
                found = group
            } else {
                found = try self.onlyGroupHolding(name, user: seeder.user)
            }
            return try self.write(.addSeeder(group: found, name: name, seeder: seeder))
        case .checkPeer(let user, let group, let proof):
            try self.checkPeer(user, group: group, proof: proof, askedBy: self.session(of: context).user)
            return .reply(.ok)
        }
    }

    /// The op to log and apply, if it passes the checks ``apply(_:)`` will make.
    private func write(_ op: TrackerOp) throws(Refusal) -> Preparation {
        try self.check(op)
        return .write(op)
    }

    /// The open session the connection is bound to.
    private func session(of context: RequestContext) throws(Refusal) -> (token: String, user: String) {
        guard let token = context.session, let user = self.sessions[token] else { throw .notLoggedIn }
        return (token, user)
    }
}
