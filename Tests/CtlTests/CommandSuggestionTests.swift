import Testing

@testable import Ctl

@Suite struct CommandSuggestionTests {
    static let commands = ["list-groups", "list-files", "login", "logout", "share", "status", "list_groups"]

    @Test func aTypoGetsTheNearestCommand() {
        #expect(CommandSuggestion.nearest(to: "lsit-groups", among: Self.commands) == "list-groups")
        #expect(CommandSuggestion.nearest(to: "list-grups", among: Self.commands) == "list-groups")
        #expect(CommandSuggestion.nearest(to: "stauts", among: Self.commands) == "status")
        #expect(CommandSuggestion.nearest(to: "LOGIN", among: Self.commands) == "login")
    }

    @Test func aWordFarFromEveryCommandGetsNone() {
        #expect(CommandSuggestion.nearest(to: "frobnicate", among: Self.commands) == nil)
        #expect(CommandSuggestion.nearest(to: "cluster.yaml", among: Self.commands) == nil)
    }

    @Test func aSwapOfNeighboursIsOneEdit() {
        #expect(CommandSuggestion.distance("ab", "ba") == 1)
        #expect(CommandSuggestion.distance("kitten", "sitting") == 3)
        #expect(CommandSuggestion.distance("", "abc") == 3)
    }
}
