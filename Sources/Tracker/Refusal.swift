import Wire

/// Why the tracker refuses a request or an op: the error reply, thrown by the checks that
/// ``TrackerState/prepare(_:context:)`` and ``TrackerState/apply(_:)`` share.
///
/// Every message the tracker sends back is written here, so that prepare and apply refuse with the same words.
struct Refusal: Error, Hashable, Sendable {
    var code: ErrorCode
    var message: String

    init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The reply that tells the client.
    var reply: Reply { .error(self.code, self.message) }

    // MARK: Accounts and sessions

    static let notLoggedIn = Refusal(.notLoggedIn, "log in first (LOGIN|user|password)")
    static let noSession = Refusal(.notFound, "no such session; log in again (LOGIN|user|password)")
    static let emptyToken = Refusal(.invalid, "session tokens are not empty")
    static let tokenInUse = Refusal(.exists, "the session token is already in use")
    static let invalidUserName = Refusal(.invalid, "user names are " + NameRules.accountNameRule)
    static let invalidPassword = Refusal(.invalid, NameRules.passwordRule)

    static func requestNumberReused(_ number: UInt64) -> Refusal {
        Refusal(
            .invalid,
            "request number \(number) of this client was already used for a different request; nothing was changed: "
                + "number each request anew")
    }

    static func userExists(_ user: String) -> Refusal { Refusal(.exists, "user \(user) exists already") }
    static func noUser(_ user: String) -> Refusal { Refusal(.notFound, "no user named \(user)") }

    // MARK: Quotas

    static func quota(_ what: String, fix: String) -> Refusal {
        Refusal(.quotaExceeded, "\(what); \(fix), or ask the operator to raise the quota")
    }

    // MARK: Groups

    static let invalidGroupName = Refusal(.invalid, "group names are " + NameRules.accountNameRule)

    static func groupExists(_ group: String) -> Refusal { Refusal(.exists, "group \(group) exists already") }
    static func noGroup(_ group: String) -> Refusal { Refusal(.notFound, "no group named \(group)") }
    static func alreadyMember(_ group: String) -> Refusal { Refusal(.exists, "already a member of \(group)") }
    static func alreadyPending(_ group: String) -> Refusal {
        Refusal(.exists, "a request to join \(group) is already pending")
    }
    static func notMember(_ group: String) -> Refusal { Refusal(.forbidden, "not a member of \(group)") }
    static func ownerOnly(_ group: String, may action: String) -> Refusal {
        Refusal(.forbidden, "only the owner of \(group) can \(action)")
    }
    static func noRequest(_ user: String, group: String) -> Refusal {
        Refusal(.notFound, "\(user) has not asked to join \(group)")
    }
    static func notAMember(_ user: String, group: String) -> Refusal {
        Refusal(.notFound, "\(user) is not a member of \(group) (the owner leaves instead of being removed)")
    }

    // MARK: Files and seeders

    static let invalidFileName = Refusal(.invalid, NameRules.fileNameRule)
    static let misleadingFileName = Refusal(.invalid, NameRules.fileNameDisplayRule)
    static let invalidPort = Refusal(.invalid, "ports are 1 to 65535")

    static func peerNotAdmitted(_ user: String, group: String) -> Refusal {
        Refusal(.forbidden, "\(user) is not a logged-in member of \(group), or the proof is not theirs")
    }
    static func noFile(_ name: String, group: String) -> Refusal {
        Refusal(.notFound, "no file named \(name) in \(group)")
    }
    static func fileExists(_ name: String, group: String) -> Refusal {
        Refusal(.exists, "\(group) already has a file named \(name)")
    }
    static func fileTooLarge(_ size: UInt64) -> Refusal {
        Refusal(.invalid, "a file of \(size) bytes is over the limit of \(TrackerState.maxFileSize) bytes (1 PiB)")
    }
    static func pieceCount(given: Int, expected: UInt64, size: UInt64, pieceSize: UInt32) -> Refusal {
        Refusal(
            .invalid,
            "\(given) piece hashes given, but a file of \(size) bytes has \(expected) pieces of \(pieceSize) bytes"
        )
    }
    static func notSeeding(_ name: String, group: String) -> Refusal {
        Refusal(.notFound, "you do not seed \(name) in \(group)")
    }
    static func noFileInYourGroups(_ name: String) -> Refusal {
        Refusal(.notFound, "no file named \(name) in your groups")
    }
    static func fileInSeveralGroups(_ name: String, groups: [String]) -> Refusal {
        Refusal(
            .invalid,
            "\(name) is in several groups (\(groups.joined(separator: ", "))); use NEW_SEEDER|group|name|port"
        )
    }
}
