import NIOConcurrencyHelpers
import NIOCore

/// Admits a listener's connections up to a limit in all and a limit per source address, so that one client, or
/// one listener's flood, cannot take every slot (or descriptor) a process has.
///
/// A server asks ``admit(_:)`` in its child channel initializer and closes what is not admitted; an admitted
/// connection is counted until it closes. (Finishing the open connections on shutdown is NIOExtras'
/// `ServerQuiescingHelper`'s work.)
public final class ConnectionGate: Sendable {
    /// What ``admit(_:)`` decided.
    public enum Admission: Hashable, Sendable {
        case admitted
        /// ``limit`` connections are open already.
        case full
        /// ``perAddress`` connections from the same address are open already.
        case addressFull
    }

    private struct Registry {
        var open = 0
        var perAddress: [String: Int] = [:]
    }

    /// Connections open at once, in all.
    public let limit: Int
    /// Connections open at once from one source address.
    public let perAddress: Int
    private let registry = NIOLockedValueBox(Registry())

    /// A gate for at most `limit` connections, at most `perAddress` of them from one address.
    public init(limit: Int, perAddress: Int) {
        self.limit = limit
        self.perAddress = min(perAddress, limit)
    }

    /// Admits `channel` unless a limit is reached; an admitted channel is released when it closes.
    public func admit(_ channel: any Channel) -> Admission {
        let address = channel.remoteAddress?.ipAddress ?? channel.remoteAddress.map { "\($0)" } ?? "unknown"
        let admission = self.registry.withLockedValue { registry -> Admission in
            guard registry.open < self.limit else { return .full }
            guard registry.perAddress[address, default: 0] < self.perAddress else { return .addressFull }
            registry.open += 1
            registry.perAddress[address, default: 0] += 1
            return .admitted
        }
        if admission == .admitted {
            channel.closeFuture.whenComplete { _ in
                self.registry.withLockedValue { registry in
                    registry.open -= 1
                    let left = registry.perAddress[address, default: 1] - 1
                    registry.perAddress[address] = left > 0 ? left : nil
                }
            }
        }
        return admission
    }

    /// How many connections are open.
    public var openCount: Int { self.registry.withLockedValue { $0.open } }
}
