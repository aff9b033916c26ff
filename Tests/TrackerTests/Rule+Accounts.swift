import Tracker
import Wire

/// Sessions, `CREATE_USER`, `LOGIN`, `RESUME`, `WHOAMI`, `LOGOUT` and `QUIT`, each broken and obeyed.
extension Rule {
    static let notLoggedIn = "log in first (LOGIN|user|password)"
    static let userNameRule = "user names are 1 to 64 characters of A-Z a-z 0-9 _ . - and do not start with . or -"
    static let passwordRule = "passwords are 1 to 1024 bytes"

    static let sessions: [Rule] = [
        .refuse("no session", nil, .whoami, .notLoggedIn, Self.notLoggedIn),
        .refuse("a token that names no session", "nope", .listGroups, .notLoggedIn, Self.notLoggedIn),
        .refuse("no session for a write", nil, .createGroup(group: "k"), .notLoggedIn, Self.notLoggedIn),
        .answer("WHOAMI", "alice#1", .whoami, .user("alice")),
        .answer("RESUME an open session, without a session", nil, .resume(token: "bob#1"), .user("bob")),
        .refuse(
            "RESUME an unknown session", nil, .resume(token: "bob#9"), .notFound,
            "no such session; log in again (LOGIN|user|password)"
        ),
        .write(
            "LOGOUT closes the session", "alice#1", .logout, op: .closeSession(token: "alice#1"),
            then: [
                .then("alice#1", .whoami, .error(.notLoggedIn, Self.notLoggedIn)),
                .then(
                    nil, .resume(token: "alice#1"),
                    .error(.notFound, "no such session; log in again (LOGIN|user|password)")),
                .then("bob#1", .whoami, .user("bob")),
            ]
        ),
        .refuse("LOGOUT without a session", nil, .logout, .notLoggedIn, Self.notLoggedIn),
        .shell("QUIT needs no session", nil, .quit(mac: nil), .admin(.quit, mac: nil), reply: .challenge([])),
        .shell(
            "QUIT with a MAC", "alice#1", .quit(mac: [1, 2, 3]), .admin(.quit, mac: [1, 2, 3]), reply: .challenge([])),
        .shell("PROMOTE needs no session", nil, .promote(mac: nil), .admin(.promote, mac: nil), reply: .challenge([])),
        .shell(
            "CLIENT needs no session", nil, .identify(client: Array(0...15)), .shell(.identify(client: Array(0...15))),
            reply: .ok),
        .shell("STATUS needs no session", nil, .status, .shell(.status), reply: .ok),
    ]

    static let users: [Rule] = [
        .refuse("user name starting with .", nil, .createUser(user: ".x", password: "p"), .invalid, Self.userNameRule),
        .refuse("user name starting with -", nil, .createUser(user: "-x", password: "p"), .invalid, Self.userNameRule),
        .refuse("empty user name", nil, .createUser(user: "", password: "p"), .invalid, Self.userNameRule),
        .refuse("user name with a space", nil, .createUser(user: "a b", password: "p"), .invalid, Self.userNameRule),
        .refuse("user name with a slash", nil, .createUser(user: "a/b", password: "p"), .invalid, Self.userNameRule),
        .refuse("non-ASCII user name", nil, .createUser(user: "zoë", password: "p"), .invalid, Self.userNameRule),
        .refuse(
            "user name of 65 bytes", nil, .createUser(user: String(repeating: "u", count: 65), password: "p"),
            .invalid, Self.userNameRule
        ),
        .shell(
            "user name of 64 bytes", nil, .createUser(user: String(repeating: "u", count: 64), password: "p"),
            .hashNewPassword(user: String(repeating: "u", count: 64), password: "p"), reply: .ok
        ),
        .shell(
            "user name with _ . - inside", nil, .createUser(user: "A_b.c-9", password: "p"),
            .hashNewPassword(user: "A_b.c-9", password: "p"), reply: .ok
        ),
        .refuse("existing user", nil, .createUser(user: "alice", password: "p"), .exists, "user alice exists already"),
        .refuse("empty password", nil, .createUser(user: "frank", password: ""), .invalid, Self.passwordRule),
        .refuse(
            "password of 1025 bytes", nil, .createUser(user: "frank", password: String(repeating: "p", count: 1025)),
            .invalid, Self.passwordRule
        ),
        .shell(
            "password of 1024 bytes", nil, .createUser(user: "frank", password: String(repeating: "p", count: 1024)),
            .hashNewPassword(user: "frank", password: String(repeating: "p", count: 1024)), reply: .ok
        ),
        .shell(
            "CREATE_USER, then LOGIN", nil, .createUser(user: "frank", password: "secret"),
            .hashNewPassword(user: "frank", password: "secret"), reply: .ok,
            then: [
                .then(nil, .login(user: "frank", password: "secret"), .token("frank#1")),
                .then("frank#1", .whoami, .user("frank")),
            ]
        ),
        .shell(
            "CREATE_USER while logged in as someone else", "alice#1", .createUser(user: "frank", password: "p"),
            .hashNewPassword(user: "frank", password: "p"), reply: .ok
        ),
    ]

    static let logins: [Rule] = [
        .shell(
            "LOGIN with the right password opens a second session", nil,
            .login(user: "alice", password: "pw-alice"),
            .verifyPassword(user: "alice", password: "pw-alice", stored: TrackerHarness.fakeHash("pw-alice")),
            reply: .token("alice#2"),
            then: [.then("alice#2", .whoami, .user("alice")), .then("alice#1", .whoami, .user("alice"))]
        ),
        .shell(
            "LOGIN with a wrong password", nil, .login(user: "alice", password: "nope"),
            .verifyPassword(user: "alice", password: "nope", stored: TrackerHarness.fakeHash("pw-alice")),
            reply: .error(.authFailed, "wrong user or password")
        ),
        .shell(
            "LOGIN as an unknown user still goes to the shell", nil, .login(user: "zed", password: "pw"),
            .verifyPassword(user: "zed", password: "pw", stored: nil),
            reply: .error(.authFailed, "wrong user or password")
        ),
        .shell(
            "LOGIN on a connection that has a session", "bob#1", .login(user: "alice", password: "pw-alice"),
            .verifyPassword(user: "alice", password: "pw-alice", stored: TrackerHarness.fakeHash("pw-alice")),
            reply: .token("alice#2")
        ),
    ]
}
