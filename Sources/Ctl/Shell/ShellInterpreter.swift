import Foundation
import PeerControl
import Wire

/// What one line typed at the `tandem> ` prompt asks for.
enum ShellCommand: Hashable, Sendable {
    /// A blank line.
    case nothing
    /// A request for the tracker.
    case send(Request)
    /// A request for this home's peer daemon (sharing and downloading).
    case peer(ControlRequest)
    /// Print the list of commands.
    case help
    /// Print the history.
    case history
    /// Leave the shell.
    case exit
    /// Print this and do nothing else: a mistake, or a command that is not there yet.
    case message(String)
}

/// Maps the original client's lower-case commands to requests: `create_user alice pw` becomes the text command
/// `CREATE_USER|alice|pw`, which ``Wire/TextAdapter`` parses like a line on the text port. Pure, no I/O.
enum ShellInterpreter {
    /// Shell word to text-protocol command, for the commands that go to the tracker.
    private static let commands: [String: String] = [
        "create_user": "CREATE_USER", "login": "LOGIN", "logout": "LOGOUT", "whoami": "WHOAMI",
        "create_group": "CREATE_GROUP", "join_group": "JOIN_GROUP", "leave_group": "LEAVE_GROUP",
        "list_groups": "LIST_GROUPS", "list_requests": "LIST_REQUESTS",
        "accept_request": "ACCEPT_REQUEST", "accept_requests": "ACCEPT_REQUEST", "list_files": "LIST_FILES",
    ]

    /// Commands whose second argument is a password, which the history must not keep.
    private static let passwordCommands: Set<String> = ["create_user", "login"]

    /// The command list `help` prints.
    static let help = """
        create_user USER PASSWORD     create an account
        login USER PASSWORD           log this shell in
        logout                        log this shell out
        whoami                        show who this shell is logged in as
        create_group GROUP            create a group you own
        join_group GROUP              ask to join a group
        leave_group GROUP             leave a group (the owner leaving dissolves it)
        list_groups                   list every group and how you stand with it
        list_requests GROUP           list who asks to join a group you own
        accept_request GROUP USER     let a user into a group you own (also accept_requests)
        list_files GROUP              list the files of a group
        upload_file PATH GROUP        share a file into a group (this home's peer daemon seeds it)
        download_file GROUP FILE DIR  start downloading a file of a group into DIR
        show_downloads                list the downloads: [D] downloading, [C] complete, [F] failed
        stop_share GROUP FILE         stop sharing a file
        history                       show the commands typed so far
        help                          show this list
        quit, exit                    leave the shell (Ctrl-D too)
        """

    /// What `line` asks for; relative paths are taken from `directory`.
    static func interpret(_ line: String, in directory: String) -> ShellCommand {
        let words = line.split(whereSeparator: \.isWhitespace).map(String.init)
        guard let first = words.first else { return .nothing }
        let name = first.lowercased()
        let arguments = words.dropFirst()
        switch name {
        case "help", "?": return .help
        case "history": return .history
        case "quit", "exit": return .exit
        default: break
        }
        if let swarm = Self.swarmCommand(name, Array(arguments), in: directory) { return swarm }
        guard let command = Self.commands[name] else {
            return .message("unknown command '\(first)'; type help for the list")
        }
        guard !arguments.contains(where: { $0.contains("|") }) else {
            return .message("arguments cannot contain '|'")
        }
        switch TextAdapter.parse(([command] + arguments).joined(separator: "|")[...]) {
        case .success(let request): return .send(request)
        case .failure(let error): return .message("\(name): \(error.description)")
        }
    }

    /// The original client's sharing commands, with their arguments in its order; nil for other commands.
    private static func swarmCommand(_ name: String, _ arguments: [String], in directory: String) -> ShellCommand? {
        func absolute(_ path: String) -> String { ClusterOptions.absolute(path, in: directory) }
        func usage(_ text: String) -> ShellCommand { .message("usage: \(name) \(text)") }
        switch name {
        case "upload_file":
            guard arguments.count == 2 else { return usage("PATH GROUP") }
            return .peer(.share(group: arguments[1], path: absolute(arguments[0])))
        case "download_file":
            guard arguments.count == 3 else { return usage("GROUP FILE DIR") }
            return .peer(.download(group: arguments[0], name: arguments[1], to: absolute(arguments[2])))
        case "show_downloads":
            guard arguments.isEmpty else { return usage("(no arguments)") }
            return .peer(.downloads)
        case "stop_share":
            guard arguments.count == 2 else { return usage("GROUP FILE") }
            return .peer(.stopShare(group: arguments[0], name: arguments[1]))
        default: return nil
        }
    }

    /// `line` as the history keeps it: the password of `login` and `create_user` replaced by `********`.
    static func historyEntry(_ line: String) -> String {
        var words = line.split(whereSeparator: \.isWhitespace).map(String.init)
        guard let first = words.first, Self.passwordCommands.contains(first.lowercased()), words.count > 2 else {
            return line.trimmingCharacters(in: .whitespaces)
        }
        for index in 2..<words.count { words[index] = "********" }
        return words.joined(separator: " ")
    }
}
