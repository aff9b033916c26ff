import Wire

/// Typed calls for what the peer daemon asks the tracker: each sends one request on `session` and returns what
/// its reply carries, or throws the tracker's refusal (``ClientError``).
extension ClusterClient {
    /// The user `session` belongs to (`WHOAMI`).
    public func whoami(session token: String) async throws -> String {
        try await self.send(.whoami, session: token).expectUser()
    }

    /// The metadata and seeders of `name` in `group` (`DOWNLOAD_FILE`).
    public func fileInfo(group: String, name: String, session token: String) async throws -> FileInfo {
        try await self.send(.downloadFile(group: group, name: name), session: token).expectFileInfo()
    }

    /// Lists this peer, serving on `port`, as a seeder of `name` in `group` (`NEW_SEEDER`).
    public func addSeeder(group: String, name: String, port: UInt16, session token: String) async throws {
        try await self.send(.newSeeder(group: group, name: name, port: port), session: token).expectOK()
    }
}
