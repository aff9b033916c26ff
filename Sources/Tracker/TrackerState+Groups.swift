import Wire

/// Groups and join requests: `CREATE_GROUP`, `JOIN_GROUP`, `LEAVE_GROUP`, `LIST_GROUPS`, `LIST_REQUESTS`,
/// `ACCEPT_REQUEST`, `REJECT_REQUEST` and `REMOVE_MEMBER`.
extension TrackerState {
    // MARK: Reads

    /// Every group, sorted by name, with how `user` stands with it. Non-members learn only the name.
    func listGroups(for user: String) -> Reply {
        let entries = self.groups.map { name, group in GroupEntry(name: name, membership: group.membership(of: user)) }
        return .groups(entries.sorted { $0.name < $1.name })
    }

    /// The users waiting to join `group`, in arrival order; only its owner may ask.
    func listRequests(_ group: String, user: String) throws(Refusal) -> Reply {
        let record = try self.group(group)
        guard record.owner == user else { throw .ownerOnly(group, may: "list its join requests") }
        return .users(record.requests)
    }

    /// The group named `group`.
    func group(_ group: String) throws(Refusal) -> GroupRecord {
        guard let record = self.groups[group] else { throw .noGroup(group) }
        return record
    }

    /// The group named `group`, if `user` is its owner or a member: non-members see nothing inside a group.
    func group(_ group: String, admitting user: String) throws(Refusal) -> GroupRecord {
        let record = try self.group(group)
        guard record.admits(user) else { throw .notMember(group) }
        return record
    }

    // MARK: Checks

    func checkCreateGroup(_ group: String, owner: String) throws(Refusal) {
        guard NameRules.isValidAccountName(group) else { throw .invalidGroupName }
        guard self.groups[group] == nil else { throw .groupExists(group) }
        guard self.users[owner] != nil else { throw .noUser(owner) }
    }

    func checkRequestJoin(_ group: String, user: String) throws(Refusal) {
        let record = try self.group(group)
        guard self.users[user] != nil else { throw .noUser(user) }
        switch record.membership(of: user) {
        case .owner, .member: throw .alreadyMember(group)
        case .pending: throw .alreadyPending(group)
        case .none: break
        }
    }

    func checkLeaveGroup(_ group: String, user: String) throws(Refusal) {
        guard try self.group(group).membership(of: user) != .none else { throw .notMember(group) }
    }

    func checkAcceptRequest(_ group: String, owner: String, user: String) throws(Refusal) {
        let record = try self.group(group)
        guard record.owner == owner else { throw .ownerOnly(group, may: "accept join requests") }
        guard record.requests.contains(user) else { throw .noRequest(user, group: group) }
    }

    func checkRejectRequest(_ group: String, owner: String, user: String) throws(Refusal) {
        let record = try self.group(group)
        guard record.owner == owner else { throw .ownerOnly(group, may: "reject join requests") }
        guard record.requests.contains(user) else { throw .noRequest(user, group: group) }
    }

    /// Only a member can be removed: not the owner (who leaves instead), not a user who only asked.
    func checkRemoveMember(_ group: String, owner: String, user: String) throws(Refusal) {
        let record = try self.group(group)
        guard record.owner == owner else { throw .ownerOnly(group, may: "remove members") }
        guard record.membership(of: user) == .member else { throw .notAMember(user, group: group) }
    }

    // MARK: Changes (after the checks passed)

    mutating func performCreateGroup(_ group: String, owner: String) -> Reply {
        self.groups[group] = GroupRecord(owner: owner)
        self.usage[owner, default: Usage()].groups += 1
        self.dropEmptyUsage(of: owner)
        return .ok
    }

    mutating func performRequestJoin(_ group: String, user: String) -> Reply {
        self.groups[group]?.requests.append(user)
        return .ok
    }

    /// The owner leaving dissolves the group with its files and requests; a member leaving stops seeding the
    /// group's files (a file left without seeders goes); a pending requester leaving cancels the request.
    mutating func performLeaveGroup(_ group: String, user: String) -> Reply {
        switch self.groups[group]?.membership(of: user) {
        case .owner:
            if let dissolved = self.groups.removeValue(forKey: group) {
                self.usage[user, default: Usage()].groups -= 1
                self.dropEmptyUsage(of: user)
                for (name, file) in dissolved.files { self.release(file, named: name) }
            }
        case .member:
            for (name, file) in self.groups[group]?.removeMember(user) ?? [] { self.release(file, named: name) }
        case .pending:
            self.groups[group]?.requests.removeAll { $0 == user }
        case .some(.none), nil:
            break  // Refused by checkLeaveGroup.
        }
        return .ok
    }

    mutating func performRejectRequest(_ group: String, user: String) -> Reply {
        self.groups[group]?.requests.removeAll { $0 == user }
        return .ok
    }

    mutating func performAcceptRequest(_ group: String, user: String) -> Reply {
        self.groups[group]?.requests.removeAll { $0 == user }
        self.groups[group]?.members.insert(user)
        return .ok
    }
}

extension TrackerState.GroupRecord {
    /// Removes `user` from the members and from the seeders of every file; files left without a seeder go, and
    /// are returned by name.
    mutating func removeMember(_ user: String) -> [(String, TrackerState.FileRecord)] {
        self.members.remove(user)
        let seeded = self.files.compactMap { name, file in file.seeders.contains { $0.user == user } ? name : nil }
        return seeded.compactMap { name in self.removeSeeder(user, fromFile: name).map { (name, $0) } }
    }

    /// Removes `user` from the seeders of file `name`, and the file itself when nobody seeds it any more, which it
    /// returns.
    mutating func removeSeeder(_ user: String, fromFile name: String) -> TrackerState.FileRecord? {
        self.files[name]?.seeders.removeAll { $0.user == user }
        guard self.files[name]?.seeders.isEmpty == true else { return nil }
        return self.files.removeValue(forKey: name)
    }
}
