import Testing
import Tracker
import Wire

/// One row of the rule tables: a request sent on a session of ``TrackerHarness/world()``, what preparing it must
/// give, what the client must finally be told, and follow-up requests that show the effect.
struct Rule: Sendable, CustomTestStringConvertible {
    /// A follow-up request and its expected reply.
    struct Check: Sendable {
        var session: String?
        var request: Request
        var reply: Reply
    }

    var label: String
    var session: String?
    var host: String
    var request: Request
    var preparation: Preparation
    var reply: Reply
    var then: [Check]

    var testDescription: String { self.label }

    /// The request is refused while preparing: the state must not change.
    static func refuse(
        _ label: String, _ session: String?, _ request: Request, _ code: ErrorCode, _ message: String
    ) -> Rule {
        Rule(
            label: label, session: session, host: TrackerHarness.defaultHost, request: request,
            preparation: .reply(.error(code, message)), reply: .error(code, message), then: []
        )
    }

    /// The request is answered from the state: the state must not change.
    static func answer(_ label: String, _ session: String?, _ request: Request, _ reply: Reply) -> Rule {
        Rule(
            label: label, session: session, host: TrackerHarness.defaultHost, request: request,
            preparation: .reply(reply), reply: reply, then: []
        )
    }

    /// The request is prepared as `op`, which applies with `reply`.
    static func write(
        _ label: String, _ session: String?, _ request: Request, host: String = TrackerHarness.defaultHost,
        op: TrackerOp, reply: Reply = .ok, then: [Check] = []
    ) -> Rule {
        Rule(
            label: label, session: session, host: host, request: request, preparation: .write(op), reply: reply,
            then: then)
    }

    /// The request goes to the shell first (password hashing or checking, the admin challenge).
    static func shell(
        _ label: String, _ session: String?, _ request: Request, _ preparation: Preparation, reply: Reply,
        then: [Check] = []
    ) -> Rule {
        Rule(
            label: label, session: session, host: TrackerHarness.defaultHost, request: request,
            preparation: preparation, reply: reply, then: then
        )
    }

    /// Runs the row against a fresh world.
    func verify() {
        var world = TrackerHarness.world()
        let before = world.state
        let context = RequestContext(session: self.session, peerHost: self.host)
        #expect(world.state.prepare(self.request, context: context) == self.preparation)
        #expect(world.send(self.request, session: self.session, host: self.host) == self.reply)
        if case .reply = self.preparation {
            #expect(world.state == before, "a request answered from the state changed it")
        }
        if case .error = self.reply {
            #expect(world.state == before, "a refused request changed the state")
        }
        for check in self.then {
            #expect(world.send(check.request, session: check.session) == check.reply, "then \(check.request)")
        }
    }
}

extension Rule.Check {
    /// A follow-up that `session` sends.
    static func then(_ session: String?, _ request: Request, _ reply: Reply) -> Rule.Check {
        Rule.Check(session: session, request: request, reply: reply)
    }
}
