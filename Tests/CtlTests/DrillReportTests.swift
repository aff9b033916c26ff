import Testing
import Wire

@testable import Ctl

/// The drill's verdict from what a run recorded: unavailability, the loss check, PASS or FAIL.
@Suite struct DrillReportTests {
    let fault = ContinuousClock.now

    func write(_ name: String, answeredAt milliseconds: Int, _ outcome: DrillWrite.Outcome = .acknowledged)
        -> DrillWrite
    {
        let answered = self.fault + .milliseconds(milliseconds)
        return DrillWrite(name: name, sent: answered - .milliseconds(5), answered: answered, outcome: outcome)
    }

    func report(_ writes: [DrillWrite], readBack: Set<String>, events: [DrillEvent] = [], missed: [String] = [])
        -> DrillReport
    {
        DrillReport(
            fault: self.fault, events: events, writes: writes, readBack: readBack, readFrom: "t2 (the primary)",
            missed: missed)
    }

    @Test func unavailabilityIsTheLongestSpanWithoutAnAcknowledgementFromTheFaultOn() {
        let writes = [
            self.write("a", answeredAt: -300), self.write("b", answeredAt: -100), self.write("c", answeredAt: 900),
            self.write("d", answeredAt: 950), self.write("e", answeredAt: 1_400),
            self.write("f", answeredAt: 1_200, .unanswered("no tracker")),
        ]
        let report = self.report(writes, readBack: ["a", "b", "c", "d", "e"])
        #expect(report.unavailability == .milliseconds(1_000), "from the last ack before the fault to the next")
        #expect(report.passed == false, "an unanswered write fails the drill")
        #expect(report.failed.map(\.name) == ["f"])
    }

    @Test func anAcknowledgedWriteMissingFromThePrimaryIsLost() {
        let report = self.report(
            [self.write("a", answeredAt: 10), self.write("b", answeredAt: 20)], readBack: ["a"])
        #expect(report.lost == ["b"])
        #expect(report.lines.contains("loss check: 1 of 2 acknowledged writes read back from t2 (the primary); 1 lost"))
        #expect(report.lines.last == "FAIL")
    }

    @Test func aWriteRefusedAsExistingIsADuplicate() {
        let report = self.report(
            [self.write("a", answeredAt: 10, .refused(.exists, "group a exists already"))], readBack: ["a"])
        #expect(report.duplicated.map(\.name) == ["a"])
        #expect(report.failed.isEmpty)
        #expect(!report.passed)
    }

    @Test func aCleanRunPassesWithItsTimelineInOrder() {
        let promoted = DrillEvent(
            at: self.fault + .milliseconds(600), what: "t2 promoted itself (epoch 3)", kind: .promotion)
        let faultEvent = DrillEvent(at: self.fault, what: "fault: kill -9 t1, the primary (pid 7)")
        let report = self.report(
            [self.write("a", answeredAt: -20), self.write("b", answeredAt: 650)], readBack: ["a", "b"],
            events: [faultEvent, promoted])
        #expect(report.passed)
        #expect(
            Array(report.lines.prefix(3)) == [
                "    +0 ms  fault: kill -9 t1, the primary (pid 7)",
                "  +600 ms  t2 promoted itself (epoch 3)",
                "  +650 ms  first write acknowledged after the promotion",
            ])
        #expect(report.lines.last == "PASS")
    }

    @Test func aStepNotSeenFailsTheDrill() {
        let report = self.report([self.write("a", answeredAt: 5)], readBack: ["a"], missed: ["t2 promoting itself"])
        #expect(!report.passed)
        #expect(report.lines.contains("   missed  t2 promoting itself (not seen before the deadline)"))
    }
}
