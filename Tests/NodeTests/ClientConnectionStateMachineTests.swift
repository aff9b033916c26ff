import Testing

@testable import Node

/// The serving discipline of a client connection, driven without a channel.
@Suite struct ClientConnectionStateMachineTests {
    typealias Machine = ClientConnectionStateMachine<Int>

    /// Every step the machine gives until it waits, as the handler would carry them out.
    static func steps(_ machine: inout Machine, writable: Bool = true) -> [String] {
        var steps: [String] = []
        while true {
            switch machine.nextStep(writable: writable) {
            case .wait: return steps
            case .serve(let message): steps.append("serve \(message)")
            case .refuse(let message): steps.append("refuse \(message)")
            case .resumeReading: steps.append("read")
            case .close: steps.append("close")
            case .closeOutput: steps.append("close output")
            }
        }
    }

    static func reads(_ machine: inout Machine) -> Bool {
        machine.readRequested()
    }

    static func close(_ machine: inout Machine) -> Bool {
        machine.channelClosed()
    }

    @Test func servesOneRequestAtATimeInOrder() {
        var machine = Machine(maxQueued: 8, maxQueuedBytes: 1000)
        machine.received(1, size: 10)
        machine.received(2, size: 10)
        #expect(Self.steps(&machine) == ["serve 1"])
        machine.received(3, size: 10)
        #expect(Self.steps(&machine) == [])
        machine.finished()
        #expect(Self.steps(&machine) == ["serve 2"])
        machine.finished()
        #expect(Self.steps(&machine) == ["serve 3"])
        machine.finished()
        #expect(Self.steps(&machine) == [])
    }

    @Test func readingPausesWhenTheQueueIsFullAndResumesWhenItDrains() {
        var machine = Machine(maxQueued: 2, maxQueuedBytes: 1000)
        #expect(Self.reads(&machine))
        machine.received(1, size: 10)
        #expect(Self.steps(&machine) == ["serve 1"])
        machine.received(2, size: 10)
        machine.received(3, size: 10)
        #expect(!Self.reads(&machine))
        machine.finished()
        #expect(Self.steps(&machine) == ["serve 2", "read"])
        #expect(Self.reads(&machine))
    }

    @Test func aClientThatDoesNotReadItsRepliesIsReadUntilItsQueueIsFullAndNotServed() {
        var machine = Machine(maxQueued: 2, maxQueuedBytes: 1000)
        machine.received(1, size: 10)
        #expect(Self.reads(&machine), "a full socket does not stop reading while the queue has room")
        machine.received(2, size: 10)
        #expect(!Self.reads(&machine))
        #expect(Self.steps(&machine, writable: false) == [])
        #expect(Self.steps(&machine, writable: true) == ["serve 1", "read"])
        machine.finished()
        #expect(Self.steps(&machine, writable: false) == [])
        #expect(Self.steps(&machine, writable: true) == ["serve 2"])
    }

    @Test func aConnectionIsIdleOnlyWithNothingInFlightOrWaiting() {
        var machine = Machine(maxQueued: 8, maxQueuedBytes: 1000)
        #expect(machine.isIdle)
        machine.received(1, size: 10)
        #expect(!machine.isIdle, "a request waits")
        #expect(Self.steps(&machine) == ["serve 1"])
        #expect(!machine.isIdle, "a slow request is in flight")
        machine.finished()
        #expect(machine.isIdle)
    }

    @Test func aHalfClosedClientGetsEveryReplyThenTheConnectionCloses() {
        var machine = Machine(maxQueued: 8, maxQueuedBytes: 1000)
        machine.received(1, size: 10)
        machine.received(2, size: 10)
        machine.inputClosed()
        #expect(Self.steps(&machine) == ["serve 1"])
        #expect(!Self.reads(&machine))
        machine.finished()
        #expect(Self.steps(&machine) == ["serve 2"])
        machine.finished()
        #expect(Self.steps(&machine) == ["close"])
        #expect(Self.steps(&machine) == [])
    }

    @Test func shutdownFinishesTheRequestInFlightAndRefusesTheWaitingOnes() {
        var machine = Machine(maxQueued: 8, maxQueuedBytes: 1000)
        machine.received(1, size: 10)
        machine.received(2, size: 10)
        machine.received(3, size: 10)
        #expect(Self.steps(&machine) == ["serve 1"])
        machine.shutdownRequested()
        #expect(Self.steps(&machine) == [])
        machine.finished()
        #expect(!machine.hasRoom, "nothing more is decoded once the tracker stops")
        #expect(Self.steps(&machine, writable: false) == ["refuse 2", "refuse 3", "close output"])

        // A lingering close: what the client still sends is read and dropped until it closes too.
        #expect(Self.reads(&machine))
        machine.received(4, size: 10)
        #expect(Self.steps(&machine) == [])
        machine.inputClosed()
        #expect(Self.steps(&machine) == ["close"])
    }

    @Test func shutdownOfAnIdleConnectionClosesAtOnce() {
        var machine = Machine(maxQueued: 8, maxQueuedBytes: 1000)
        machine.shutdownRequested()
        #expect(Self.steps(&machine) == ["close output"])
    }

    @Test func aFatalInputErrorDropsWhatWaitsAndCloses() {
        var machine = Machine(maxQueued: 8, maxQueuedBytes: 1000)
        machine.received(1, size: 10)
        machine.received(2, size: 10)
        #expect(Self.steps(&machine) == ["serve 1"])
        machine.closeAfterInFlight()
        machine.received(3, size: 10)
        machine.finished()
        #expect(Self.steps(&machine) == ["close output"])
        #expect(Self.steps(&machine) == [])
    }

    @Test func aConnectionClosedMidRequestEndsItsSessionWhenTheRequestFinishes() {
        var machine = Machine(maxQueued: 8, maxQueuedBytes: 1000)
        machine.received(1, size: 10)
        machine.received(2, size: 10)
        #expect(Self.steps(&machine) == ["serve 1"])
        #expect(!Self.close(&machine))
        #expect(machine.isClosed)
        machine.finished()
        #expect(Self.steps(&machine) == [])

        var idle = Machine(maxQueued: 8, maxQueuedBytes: 1000)
        #expect(Self.close(&idle))
    }

    @Test func queuedInputIsBoundedInBytesAsWellAsInRequests() {
        var machine = Machine(maxQueued: 64, maxQueuedBytes: 100)
        machine.received(1, size: 60)
        #expect(machine.hasRoom)
        machine.received(2, size: 60)
        #expect(!machine.hasRoom, "two requests from 120 bytes fill a 100-byte queue")
        #expect(!Self.reads(&machine))
        #expect(Self.steps(&machine) == ["serve 1", "read"])
        #expect(machine.hasRoom)
    }
}
