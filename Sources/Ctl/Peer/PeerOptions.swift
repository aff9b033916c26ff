import ArgumentParser
import TrackerClient

extension ClusterOptions {
    /// The client of this user's peer daemon (which shares the home directory).
    func peerClient() throws -> PeerControlClient {
        PeerControlClient(configPath: try self.configPath(), home: self.homeDirectory())
    }
}
