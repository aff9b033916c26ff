/// How much one user may create (`quotas` in `cluster.yaml`), so that accounts cost the trackers a bounded
/// amount. Refusals say which quota and how to get under it.
public struct QuotasConfig: Hashable, Sendable {
    /// New accounts one client address may register per hour, on each tracker. Default 20.
    public var usersPerAddressPerHour: Int
    /// Groups one user may own at once. Default 10000.
    public var groupsPerUser: Int
    /// Files one user may have registered (and that still exist) at once. Default 10000.
    public var filesPerUser: Int
    /// Bytes of piece hashes and names those files may take in all. Default 256MiB.
    public var metadataPerUser: Int

    /// Creates the section; the defaults are those of an absent `quotas` section.
    public init(
        usersPerAddressPerHour: Int = 20, groupsPerUser: Int = 10_000, filesPerUser: Int = 10_000,
        metadataPerUser: Int = 256 << 20
    ) {
        self.usersPerAddressPerHour = usersPerAddressPerHour
        self.groupsPerUser = groupsPerUser
        self.filesPerUser = filesPerUser
        self.metadataPerUser = metadataPerUser
    }
}
