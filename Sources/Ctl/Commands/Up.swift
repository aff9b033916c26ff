import ArgumentParser

extension Tandemctl {
    struct Up: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the trackers of cluster.yaml that live on this machine.",
            discussion: """
                Creates the secret file (32 random bytes in hex, mode 0600) and the data directories when they are \
                missing, then starts `tandemd tracker --config <path> --id <id>` for every tracker whose host is \
                this machine. tandemd is looked for next to tandemctl, then on PATH. Their output is shown with \
                each line prefixed by the tracker id, and each one's pid is kept in <data_dir>/tandemd.pid while it \
                runs. Stays in the foreground: SIGINT and SIGTERM are passed on to the trackers, and tandemctl \
                exits once they have all stopped, with status 1 if any of them failed.
                """)

        @OptionGroup var cluster: ClusterOptions

        func run() async throws {
            let config = try self.cluster.loadConfig()
            try await LocalCluster(config: config, configPath: try self.cluster.configPath()).run()
        }
    }
}
