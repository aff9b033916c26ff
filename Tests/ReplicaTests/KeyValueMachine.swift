import NIOCore
import Replica
import ReplicaCore
import TandemTestKit

/// A tiny state machine for the replica's tests: a map from keys to values.
///
/// `apply` answers the value the key held before, so a test can check every reply against a plain dictionary.
struct KeyValueMachine: StateMachine, Hashable {
    enum Op: Hashable, Sendable {
        case set(key: String, value: String)
        case delete(key: String)
    }

    /// What a test's op or snapshot bytes failed on.
    struct DecodeError: Error, Hashable {
        var detail: String
    }

    var entries: [String: String] = [:]

    mutating func apply(_ op: Op) -> String? {
        switch op {
        case .set(let key, let value):
            return self.entries.updateValue(value, forKey: key)
        case .delete(let key):
            return self.entries.removeValue(forKey: key)
        }
    }

    static func encode(_ op: Op, into buffer: inout ByteBuffer) {
        switch op {
        case .set(let key, let value):
            buffer.writeInteger(UInt8(1))
            buffer.writeKeyValueString(key)
            buffer.writeKeyValueString(value)
        case .delete(let key):
            buffer.writeInteger(UInt8(2))
            buffer.writeKeyValueString(key)
        }
    }

    static func decodeOp(from buffer: inout ByteBuffer) throws -> Op {
        let op: Op
        switch buffer.readInteger(as: UInt8.self) {
        case 1:
            op = .set(key: try buffer.readKeyValueString(), value: try buffer.readKeyValueString())
        case 2:
            op = .delete(key: try buffer.readKeyValueString())
        default:
            throw DecodeError(detail: "unknown op kind")
        }
        guard buffer.readableBytes == 0 else { throw DecodeError(detail: "trailing bytes after the op") }
        return op
    }

    static func encode(_ output: String?, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(output == nil ? 0 : 1))
        if let output { buffer.writeKeyValueString(output) }
    }

    static func decodeOutput(from buffer: inout ByteBuffer) throws -> String? {
        switch buffer.readInteger(as: UInt8.self) {
        case 0: return nil
        case 1: return try buffer.readKeyValueString()
        default: throw DecodeError(detail: "bad output flag")
        }
    }

    func encodeSnapshot(into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt32(self.entries.count))
        for (key, value) in self.entries.sorted(by: { $0.key < $1.key }) {
            buffer.writeKeyValueString(key)
            buffer.writeKeyValueString(value)
        }
    }

    static func decodeSnapshot(from buffer: inout ByteBuffer) throws -> KeyValueMachine {
        guard let count = buffer.readInteger(as: UInt32.self) else { throw DecodeError(detail: "no entry count") }
        var machine = KeyValueMachine()
        for _ in 0..<count {
            machine.entries[try buffer.readKeyValueString()] = try buffer.readKeyValueString()
        }
        guard buffer.readableBytes == 0 else { throw DecodeError(detail: "trailing bytes after the state") }
        return machine
    }
}

extension KeyValueMachine {
    /// The state after applying `ops` in order to an empty map.
    static func replaying(_ ops: some Sequence<Op>) -> KeyValueMachine {
        var machine = KeyValueMachine()
        for op in ops { _ = machine.apply(op) }
        return machine
    }

    /// `op`'s bytes, as they appear in a record's payload.
    static func payload(of op: Op) -> ByteBuffer {
        var buffer = ByteBuffer()
        Self.encode(op, into: &buffer)
        return buffer
    }
}

extension ByteBuffer {
    fileprivate mutating func writeKeyValueString(_ string: String) {
        self.writeInteger(UInt32(string.utf8.count))
        self.writeString(string)
    }

    fileprivate mutating func readKeyValueString() throws -> String {
        guard let length = self.readInteger(as: UInt32.self), let string = self.readString(length: Int(length)) else {
            throw KeyValueMachine.DecodeError(detail: "truncated string")
        }
        return string
    }
}

extension KeyValueMachine.Op {
    /// A random op over a dozen keys, so that sets overwrite and deletes often find something.
    static func random(using generator: inout some RandomNumberGenerator) -> Self {
        let key = "key\(Int.random(in: 0..<12, using: &generator))"
        if Int.random(in: 0..<4, using: &generator) == 0 { return .delete(key: key) }
        let length = Int.random(in: 0...40, using: &generator)
        return .set(key: key, value: String((0..<length).map { _ in "abcdefgh".randomElement(using: &generator)! }))
    }

    /// `count` random ops from `seed`.
    static func randomSequence(count: Int, seed: UInt64) -> [Self] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in Self.random(using: &generator) }
    }
}
