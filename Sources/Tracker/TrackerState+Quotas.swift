import Wire

/// How much one user may hold (`quotas` in cluster.yaml): checked when a request is prepared.
public struct Quotas: Hashable, Sendable {
    /// Groups a user may own at once.
    public var groupsPerUser: Int
    /// Files a user may have registered (and that still exist) at once.
    public var filesPerUser: Int
    /// Bytes of piece hashes and names those files may take in all.
    public var metadataPerUser: Int

    /// 10,000 groups, 10,000 files and 256 MiB of metadata per user.
    public init(groupsPerUser: Int = 10_000, filesPerUser: Int = 10_000, metadataPerUser: Int = 256 << 20) {
        self.groupsPerUser = groupsPerUser
        self.filesPerUser = filesPerUser
        self.metadataPerUser = metadataPerUser
    }
}

/// Quotas: what each user holds is counted in ``TrackerState/usage``, kept in step by every op that creates or
/// removes a group or a file. The limits are checked when a request is prepared, not when its op is applied, so
/// two trackers whose cluster.yaml disagree on them still apply the same log alike; two requests racing can
/// overshoot a quota by the number in flight.
extension TrackerState {
    /// Throws when `user` creating one more group would pass `quotas`.
    func checkGroupQuota(of user: String, quotas: Quotas) throws(Refusal) {
        guard self.usage[user, default: Usage()].groups < quotas.groupsPerUser else {
            throw .quota(
                "\(user) owns \(quotas.groupsPerUser) groups already (quotas.groups_per_user)",
                fix: "leave one you own to dissolve it")
        }
    }

    /// Throws when `user` registering a file of `metadataBytes` would pass `quotas`.
    func checkFileQuota(of user: String, metadataBytes: Int, quotas: Quotas) throws(Refusal) {
        let usage = self.usage[user, default: Usage()]
        guard usage.files < quotas.filesPerUser else {
            throw .quota(
                "\(user) registered \(quotas.filesPerUser) files already (quotas.files_per_user)",
                fix: "stop sharing some first")
        }
        guard usage.metadataBytes + metadataBytes <= quotas.metadataPerUser else {
            throw .quota(
                "this file's metadata (\(metadataBytes) bytes) would take \(user) past \(quotas.metadataPerUser) bytes "
                    + "(quotas.metadata_per_user)",
                fix: "stop sharing some files first, or share larger pieces")
        }
    }

    /// Counts `file` against its registrant.
    mutating func charge(_ file: FileRecord, named name: String) {
        self.usage[file.registrant, default: Usage()].files += 1
        self.usage[file.registrant, default: Usage()].metadataBytes += file.metadataBytes(name: name)
    }

    /// Stops counting `file`, which is gone, against its registrant.
    mutating func release(_ file: FileRecord, named name: String) {
        self.usage[file.registrant, default: Usage()].files -= 1
        self.usage[file.registrant, default: Usage()].metadataBytes -= file.metadataBytes(name: name)
        self.dropEmptyUsage(of: file.registrant)
    }

    /// Removes `user`'s entry once it counts nothing, so equal states have equal usage tables.
    mutating func dropEmptyUsage(of user: String) {
        if self.usage[user] == Usage() { self.usage[user] = nil }
    }

    /// The usage table as the groups imply it: for a decoded snapshot.
    mutating func rebuildUsage() {
        self.usage = [:]
        for group in self.groups.values {
            self.usage[group.owner, default: Usage()].groups += 1
            for (name, file) in group.files { self.charge(file, named: name) }
        }
    }
}
