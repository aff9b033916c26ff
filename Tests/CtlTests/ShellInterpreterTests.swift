import PeerControl
import Testing

@testable import Ctl

/// The original client's sharing commands at the shell prompt.
@Suite struct ShellInterpreterTests {
    @Test func sharingCommandsGoToThePeerDaemonWithAbsolutePaths() {
        #expect(
            ShellInterpreter.interpret("upload_file docs/a.bin team", in: "/home/bob")
                == .peer(.share(group: "team", path: "/home/bob/docs/a.bin")))
        #expect(
            ShellInterpreter.interpret("upload_file /srv/a.bin team", in: "/home/bob")
                == .peer(.share(group: "team", path: "/srv/a.bin")))
        #expect(
            ShellInterpreter.interpret("download_file team a.bin ../in", in: "/home/bob")
                == .peer(.download(group: "team", name: "a.bin", to: "/home/in")))
        #expect(ShellInterpreter.interpret("SHOW_DOWNLOADS", in: "/") == .peer(.downloads))
        #expect(
            ShellInterpreter.interpret("stop_share team a.bin", in: "/")
                == .peer(.stopShare(group: "team", name: "a.bin")))
    }

    @Test(arguments: [
        ("upload_file a.bin", "usage: upload_file PATH GROUP"),
        ("download_file team a.bin", "usage: download_file GROUP FILE DIR"),
        ("show_downloads now", "usage: show_downloads (no arguments)"),
        ("stop_share team", "usage: stop_share GROUP FILE"),
    ])
    func wrongArgumentCountsSayTheUsage(line: String, message: String) {
        #expect(ShellInterpreter.interpret(line, in: "/") == .message(message))
    }
}
