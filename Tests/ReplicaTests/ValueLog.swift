import NIOCore
import ReplicaCore

/// The simulation's state machine: the values written, in order. An op is one value; applying it answers how
/// many values the state holds after it.
struct ValueLog: StateMachine, Hashable {
    struct DecodeError: Error {}

    var values: [String] = []

    mutating func apply(_ value: String) -> Int {
        self.values.append(value)
        return self.values.count
    }

    static func encode(_ value: String, into buffer: inout ByteBuffer) {
        buffer.writeString(value)
    }

    static func decodeOp(from buffer: inout ByteBuffer) throws -> String {
        guard buffer.readableBytes > 0, let value = buffer.readString(length: buffer.readableBytes) else {
            throw DecodeError()
        }
        return value
    }

    static func encode(_ count: Int, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt64(count))
    }

    static func decodeOutput(from buffer: inout ByteBuffer) throws -> Int {
        guard let count = buffer.readInteger(as: UInt64.self) else { throw DecodeError() }
        return Int(count)
    }

    func encodeSnapshot(into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt32(self.values.count))
        for value in self.values {
            buffer.writeInteger(UInt32(value.utf8.count))
            buffer.writeString(value)
        }
    }

    static func decodeSnapshot(from buffer: inout ByteBuffer) throws -> ValueLog {
        guard let count = buffer.readInteger(as: UInt32.self) else { throw DecodeError() }
        var machine = ValueLog()
        for _ in 0..<count {
            guard let length = buffer.readInteger(as: UInt32.self), let value = buffer.readString(length: Int(length))
            else { throw DecodeError() }
            machine.values.append(value)
        }
        return machine
    }
}
