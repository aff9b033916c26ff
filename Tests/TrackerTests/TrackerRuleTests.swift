import Testing
import Tracker
import Wire

/// Every rule of the tracker broken once and obeyed once, through `prepare` and, for writes, `apply`.
@Suite struct TrackerRuleTests {
    @Test(arguments: Rule.sessions)
    func sessions(_ rule: Rule) { rule.verify() }

    @Test(arguments: Rule.users)
    func users(_ rule: Rule) { rule.verify() }

    @Test(arguments: Rule.logins)
    func logins(_ rule: Rule) { rule.verify() }

    @Test(arguments: Rule.groups)
    func groups(_ rule: Rule) { rule.verify() }

    @Test(arguments: Rule.uploads)
    func uploads(_ rule: Rule) { rule.verify() }

    @Test(arguments: Rule.reads)
    func reads(_ rule: Rule) { rule.verify() }

    @Test(arguments: Rule.seeding)
    func seeding(_ rule: Rule) { rule.verify() }

    @Test(arguments: Rule.peerChecks)
    func peerChecks(_ rule: Rule) { rule.verify() }
}
