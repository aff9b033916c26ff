import ArgumentParser
import Cluster
import Foundation
import TrackerClient

/// The options every command shares: which cluster, where the user's state lives, how chatty to be.
struct ClusterOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The cluster configuration file.",
            discussion: "Without it, cluster.yaml in the current directory, then the file named by TANDEM_CONFIG.",
            valueName: "path"))
    var config: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The directory holding the session token, the shell history and the peer daemon's state.",
            discussion: "Without it, TANDEM_HOME, then $XDG_CONFIG_HOME/tandem, then ~/.config/tandem.",
            valueName: "dir"))
    var home: String?

    @Flag(name: .long, help: "Print which tracker answered on standard error.")
    var verbose = false

    /// The absolute path of the configuration file to use.
    func configPath(environment: [String: String] = ProcessInfo.processInfo.environment) throws(ClientError) -> String {
        let workingDirectory = FileManager.default.currentDirectoryPath
        if let config = self.config { return Self.absolute(config, in: workingDirectory) }
        let local = workingDirectory + "/cluster.yaml"
        if FileManager.default.fileExists(atPath: local) { return local }
        if let variable = environment["TANDEM_CONFIG"], !variable.isEmpty {
            return Self.absolute(variable, in: workingDirectory)
        }
        throw .usage("no cluster.yaml in \(workingDirectory) and TANDEM_CONFIG is not set; pass --config PATH")
    }

    /// Loads and validates the configuration file.
    func loadConfig() throws -> ClusterConfig {
        try ClusterConfig.load(path: try self.configPath())
    }

    /// The directory for the session token, the shell history and the peer daemon's state.
    func homeDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let workingDirectory = FileManager.default.currentDirectoryPath
        if let home = self.home { return Self.absolute(home, in: workingDirectory) }
        if let home = environment["TANDEM_HOME"], !home.isEmpty { return Self.absolute(home, in: workingDirectory) }
        if let xdg = environment["XDG_CONFIG_HOME"], xdg.hasPrefix("/") { return xdg + "/tandem" }
        let userHome = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return userHome + "/.config/tandem"
    }

    /// `path` made absolute against `directory`, with `.` and `..` resolved.
    static func absolute(_ path: String, in directory: String) -> String {
        URL(fileURLWithPath: path.hasPrefix("/") ? path : directory + "/" + path).standardizedFileURL.path
    }
}
