import Tracker
import Wire

/// `CREATE_GROUP`, `JOIN_GROUP`, `LEAVE_GROUP`, `LIST_GROUPS`, `LIST_REQUESTS` and `ACCEPT_REQUEST`, each broken and
/// obeyed.
extension Rule {
    static let groupNameRule = "group names are 1 to 64 characters of A-Z a-z 0-9 _ . - and do not start with . or -"

    static let groups: [Rule] = [
        .refuse("existing group", "bob#1", .createGroup(group: "g"), .exists, "group g exists already"),
        .refuse("group name with a slash", "bob#1", .createGroup(group: "a/b"), .invalid, Self.groupNameRule),
        .refuse("group name starting with .", "bob#1", .createGroup(group: ".."), .invalid, Self.groupNameRule),
        .refuse(
            "group name of 65 bytes", "bob#1", .createGroup(group: String(repeating: "g", count: 65)), .invalid,
            Self.groupNameRule
        ),
        .write(
            "CREATE_GROUP makes the creator its owner", "dave#1", .createGroup(group: "k"),
            op: .createGroup(group: "k", owner: "dave"),
            then: [
                .then(
                    "dave#1", .listGroups,
                    .groups([
                        .init(name: "g", membership: .none), .init(name: "h", membership: .none),
                        .init(name: "k", membership: .owner),
                    ])),
                .then("dave#1", .listFiles(group: "k"), .files([])),
                .then("dave#1", .listRequests(group: "k"), .users([])),
            ]
        ),
        .answer(
            "LIST_GROUPS for an outsider", "dave#1", .listGroups,
            .groups([.init(name: "g", membership: .none), .init(name: "h", membership: .none)])
        ),
        .answer(
            "LIST_GROUPS for an owner and member", "alice#1", .listGroups,
            .groups([.init(name: "g", membership: .owner), .init(name: "h", membership: .member)])
        ),
        .answer(
            "LIST_GROUPS for a pending requester", "carol#1", .listGroups,
            .groups([.init(name: "g", membership: .pending), .init(name: "h", membership: .none)])
        ),
        .refuse("JOIN_GROUP an unknown group", "dave#1", .joinGroup(group: "zz"), .notFound, "no group named zz"),
        .refuse("JOIN_GROUP as a member", "bob#1", .joinGroup(group: "g"), .exists, "already a member of g"),
        .refuse("JOIN_GROUP as the owner", "alice#1", .joinGroup(group: "g"), .exists, "already a member of g"),
        .refuse(
            "JOIN_GROUP twice", "carol#1", .joinGroup(group: "g"), .exists, "a request to join g is already pending"
        ),
        .write(
            "JOIN_GROUP queues a request after the others", "dave#1", .joinGroup(group: "g"),
            op: .requestJoin(group: "g", user: "dave"),
            then: [
                .then("alice#1", .listRequests(group: "g"), .users(["carol", "dave"])),
                .then("dave#1", .listFiles(group: "g"), .error(.forbidden, "not a member of g")),
            ]
        ),
        .refuse("LEAVE_GROUP an unknown group", "dave#1", .leaveGroup(group: "zz"), .notFound, "no group named zz"),
        .refuse("LEAVE_GROUP as an outsider", "dave#1", .leaveGroup(group: "g"), .forbidden, "not a member of g"),
        .write(
            "the owner leaving dissolves the group with its files and requests", "alice#1", .leaveGroup(group: "g"),
            op: .leaveGroup(group: "g", user: "alice"),
            then: [
                .then("bob#1", .listFiles(group: "g"), .error(.notFound, "no group named g")),
                .then("carol#1", .listGroups, .groups([.init(name: "h", membership: .none)])),
                .then(
                    "bob#1", .downloadFile(group: "h", name: "dup.bin"),
                    .fileInfo(
                        FileInfo(
                            group: "h", name: "dup.bin", size: 0, pieceSize: TrackerHarness.pieceSize,
                            pieceHashes: .empty, fileID: TrackerHarness.emptyID, seeders: [TrackerHarness.aliceSeeder]))
                ),
                .then("carol#1", .createGroup(group: "g"), .ok),
                .then("carol#1", .listFiles(group: "g"), .files([])),
            ]
        ),
        .write(
            "a member leaving stops seeding the group's files", "bob#1", .leaveGroup(group: "g"),
            op: .leaveGroup(group: "g", user: "bob"),
            then: [
                .then(
                    "alice#1", .downloadFile(group: "g", name: "a.txt"),
                    .fileInfo(TrackerHarness.aTxtInfo(seeders: [TrackerHarness.aliceSeeder]))),
                .then("bob#1", .listFiles(group: "g"), .error(.forbidden, "not a member of g")),
                .then(
                    "bob#1", .listGroups,
                    .groups([.init(name: "g", membership: .none), .init(name: "h", membership: .owner)])),
            ]
        ),
        .write(
            "a member leaving removes the files only they seeded", "alice#1", .leaveGroup(group: "h"),
            op: .leaveGroup(group: "h", user: "alice"),
            then: [.then("bob#1", .listFiles(group: "h"), .files([]))]
        ),
        .write(
            "a requester leaving cancels the request", "carol#1", .leaveGroup(group: "g"),
            op: .leaveGroup(group: "g", user: "carol"),
            then: [
                .then("alice#1", .listRequests(group: "g"), .users([])),
                .then("carol#1", .joinGroup(group: "g"), .ok),
            ]
        ),
        .refuse(
            "LIST_REQUESTS of an unknown group", "alice#1", .listRequests(group: "zz"), .notFound, "no group named zz"),
        .refuse(
            "LIST_REQUESTS as a member", "bob#1", .listRequests(group: "g"), .forbidden,
            "only the owner of g can list its join requests"
        ),
        .refuse(
            "LIST_REQUESTS as an outsider", "dave#1", .listRequests(group: "g"), .forbidden,
            "only the owner of g can list its join requests"
        ),
        .answer("LIST_REQUESTS as the owner", "alice#1", .listRequests(group: "g"), .users(["carol"])),
        .refuse(
            "ACCEPT_REQUEST in an unknown group", "alice#1", .acceptRequest(group: "zz", user: "carol"), .notFound,
            "no group named zz"
        ),
        .refuse(
            "ACCEPT_REQUEST as a member", "bob#1", .acceptRequest(group: "g", user: "carol"), .forbidden,
            "only the owner of g can accept join requests"
        ),
        .refuse(
            "ACCEPT_REQUEST for a user who did not ask", "alice#1", .acceptRequest(group: "g", user: "dave"), .notFound,
            "dave has not asked to join g"
        ),
        .refuse(
            "ACCEPT_REQUEST for a member", "alice#1", .acceptRequest(group: "g", user: "bob"), .notFound,
            "bob has not asked to join g"
        ),
        .write(
            "ACCEPT_REQUEST makes the requester a member", "alice#1", .acceptRequest(group: "g", user: "carol"),
            op: .acceptRequest(group: "g", owner: "alice", user: "carol"),
            then: [
                .then("alice#1", .listRequests(group: "g"), .users([])),
                .then(
                    "carol#1", .listGroups,
                    .groups([.init(name: "g", membership: .member), .init(name: "h", membership: .none)])),
                .then("carol#1", .listFiles(group: "g"), .files(TrackerHarness.worldFilesOfG)),
            ]
        ),
    ]
}
