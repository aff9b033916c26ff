// swift-tools-version:6.0
import PackageDescription

/// Release builds specialise generics across modules (the replica is generic over the tracker's state machine).
let optimized: [SwiftSetting] = [.unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))]

// Linux only (docs/DECISIONS.md): no platform is claimed that is not built and tested.
let package = Package(
    name: "Tandem",
    products: [
        .executable(name: "tandemd", targets: ["Node"]),
        .executable(name: "tandemctl", targets: ["Ctl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // OpenSSL's libcrypto from the system (libssl-dev): SHA1, HMAC, PBKDF2, random bytes.
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        // Linux calls Swift's Glibc module does not export (sync_file_range, mallopt).
        .target(name: "CLinux"),
        // Thin Swift wrappers over COpenSSL; no I/O.
        .target(name: "TandemCrypto", dependencies: ["COpenSSL"], swiftSettings: optimized),
        // Frames, messages, the text adapter. NIOCore only.
        .target(
            name: "Wire", dependencies: [.product(name: "NIOCore", package: "swift-nio")], swiftSettings: optimized),
        // What the servers share: connection limits per listener and per address, rate-limited log lines.
        .target(
            name: "ServerSupport",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]),
        // The cluster.yaml model, loading and validation.
        .target(name: "Cluster", dependencies: ["Yams"]),
        // The pair's pure core: roles, epochs, SYNC/FULLSYNC decisions and their Ready, sync messages, WAL records,
        // the StateMachine protocol. No sockets, files or clocks.
        .target(
            name: "ReplicaCore",
            dependencies: ["Wire", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: optimized
        ),
        // The replica's storage (WAL segments, snapshots, recovery: Storage/) and the shell that carries out the
        // core's decisions (Shell/). Generic over a state machine.
        .target(
            name: "Replica",
            dependencies: [
                "ReplicaCore", "Wire", "TandemCrypto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: optimized
        ),
        // The tracker's pure state machine.
        .target(
            name: "Tracker",
            dependencies: ["Wire", "ReplicaCore", "TandemCrypto", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: optimized
        ),
        // The tracker client: connections with failover, retries, sessions; shared by tandemctl and the peer daemon.
        .target(
            name: "TrackerClient",
            dependencies: [
                "Wire", "Cluster",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // The swarm's pure core: bitfields, piece layout, the download state machine (picking, endgame, bans).
        .target(name: "Swarm", swiftSettings: optimized),
        // The commands tandemctl sends the peer daemon and its answers: what tandemctl needs of the daemon.
        .target(name: "PeerControl", dependencies: ["Swarm"]),
        // The peer daemon: serves pieces, runs downloads, takes tandemctl's commands on a unix socket.
        .target(
            name: "Peer",
            dependencies: [
                "Wire", "Cluster", "Swarm", "TandemCrypto", "TrackerClient", "CLinux", "ServerSupport", "PeerControl",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: optimized
        ),
        // tandemd: NIO servers around the cores.
        .executableTarget(
            name: "Node",
            dependencies: [
                "Wire", "Cluster", "ReplicaCore", "Replica", "Tracker", "TandemCrypto", "Peer", "CLinux",
                "ServerSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // tandemctl: the CLI.
        .executableTarget(
            name: "Ctl",
            dependencies: [
                "Wire", "Cluster", "TandemCrypto", "ReplicaCore", "Replica", "Tracker", "TrackerClient", "PeerControl",
                "Swarm",
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The load generator behind bench/tracker-ops: closed-loop clients, one request in flight per connection.
        .executableTarget(
            name: "tandem-bench",
            dependencies: [
                "Wire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "bench/tandem-bench"
        ),
        // Test support: process harness, clients, waiting on conditions with deadlines.
        .target(
            name: "TandemTestKit",
            dependencies: [
                "Wire", "CLinux",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "WireTests",
            dependencies: ["Wire", "TandemTestKit", .product(name: "NIOTestUtils", package: "swift-nio")]
        ),
        .testTarget(name: "ClusterTests", dependencies: ["Cluster"]),
        .testTarget(name: "SwarmTests", dependencies: ["Swarm", "TandemTestKit"]),
        .testTarget(
            name: "PeerTests",
            dependencies: [
                "Peer", "Swarm", "Wire", "TandemCrypto", "TandemTestKit",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "CtlTests",
            dependencies: ["Ctl", "Wire", "TrackerClient", "PeerControl", .product(name: "Yams", package: "Yams")]),
        .testTarget(
            name: "ReplicaTests",
            dependencies: [
                "ReplicaCore", "Replica", "TandemCrypto", "TandemTestKit", "Wire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["testdata"]
        ),
        .testTarget(
            name: "TrackerTests",
            dependencies: ["Tracker", "Wire", "ReplicaCore", "Replica", "TandemCrypto", "TandemTestKit"]),
        .testTarget(
            name: "NodeTests",
            dependencies: [
                "Node", "ReplicaCore", "Replica", "Wire", "TandemCrypto",
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "TandemTestKit", "Wire", "Cluster", "ReplicaCore", "Replica", "TandemCrypto", "TrackerClient",
                .product(name: "NIOCore", package: "swift-nio"),
            ]),
    ]
)
