import NIOCore

// The field encodings every payload is built from (docs/PROTOCOL.md, "Field encodings"): big-endian integers,
// strings and byte strings as a UInt32 length then the bytes, lists as a UInt32 count then the items, optionals
// as a UInt8 tag (0 absent, 1 present) then the value.
//
// Readers work on a frame's payload slice, which is complete: running out of bytes is a malformed payload, never
// a reason to wait. Each reader names the field it reads so that the error says where the payload went wrong.
extension ByteBuffer {
    /// Reads a big-endian integer.
    mutating func readWireInteger<Value: FixedWidthInteger>(
        _ field: String, as: Value.Type = Value.self
    ) throws(WireError) -> Value {
        guard let value = self.readInteger(as: Value.self) else {
            throw .malformedPayload(
                "\(field): needs \(MemoryLayout<Value>.size) bytes, \(self.readableBytes) left")
        }
        return value
    }

    /// Reads a UInt32 length and that many bytes, refusing a length that runs past the payload.
    mutating func readWireByteString(_ field: String) throws(WireError) -> [UInt8] {
        let length = Int(try self.readWireInteger(field, as: UInt32.self))
        guard let bytes = self.readBytes(length: length) else {
            throw .malformedPayload("\(field): length \(length) runs past the end (\(self.readableBytes) bytes left)")
        }
        return bytes
    }

    /// Reads a UInt32 length and that many bytes of UTF-8, refusing invalid UTF-8.
    mutating func readWireString(_ field: String) throws(WireError) -> String {
        let length = Int(try self.readWireInteger(field, as: UInt32.self))
        guard let view = self.readSlice(length: length)?.readableBytesView else {
            throw .malformedPayload("\(field): length \(length) runs past the end (\(self.readableBytes) bytes left)")
        }
        // Decoding repairs invalid sequences with U+FFFD; valid UTF-8, and only valid UTF-8, comes back unchanged.
        let string = String(decoding: view, as: UTF8.self)
        guard string.utf8.elementsEqual(view) else { throw .malformedPayload("\(field): not valid UTF-8") }
        return string
    }

    /// Reads a UInt8 presence tag: 0 absent, 1 present.
    mutating func readWireOptionalTag(_ field: String) throws(WireError) -> Bool {
        switch try self.readWireInteger(field, as: UInt8.self) {
        case 0: return false
        case 1: return true
        case let tag: throw .malformedPayload("\(field): optional tag \(tag) is neither 0 nor 1")
        }
    }

    /// Reads a UInt32 item count, refusing a count that the remaining bytes cannot hold.
    ///
    /// Every item takes at least `minimumItemSize` bytes, so a lying count fails here, before anything is
    /// allocated for it.
    mutating func readWireCount(_ field: String, minimumItemSize: Int) throws(WireError) -> Int {
        let count = Int(try self.readWireInteger(field, as: UInt32.self))
        guard count <= self.readableBytes / minimumItemSize else {
            throw .malformedPayload(
                "\(field): count \(count) cannot fit in the \(self.readableBytes) bytes left")
        }
        return count
    }

    /// Reads a list of strings.
    mutating func readWireStrings(_ field: String) throws(WireError) -> [String] {
        let count = try self.readWireCount(field, minimumItemSize: 4)
        var strings: [String] = []
        strings.reserveCapacity(count)
        for _ in 0..<count {
            strings.append(try self.readWireString(field))
        }
        return strings
    }

    /// Reads a list of SHA1 digests: a UInt32 count, then 20 bytes each.
    mutating func readWirePieceHashes(_ field: String) throws(WireError) -> PieceHashes {
        let count = try self.readWireCount(field, minimumItemSize: PieceHashes.digestLength)
        guard let bytes = self.readBytes(length: count * PieceHashes.digestLength),
            let hashes = PieceHashes(bytes: bytes)
        else {
            throw .malformedPayload("\(field): \(count) digests run past the end")
        }
        return hashes
    }

    /// Writes a big-endian UInt32 length (or count) and returns the bytes written.
    ///
    /// A message whose fields are anywhere near 4 GiB cannot travel in a frame; the length is clamped so that the
    /// encoder never traps and the receiver refuses the frame by its size instead.
    @discardableResult
    mutating func writeWireCount(_ count: Int) -> Int {
        self.writeInteger(UInt32(clamping: count))
    }

    /// Writes a UInt32 length and the bytes.
    @discardableResult
    mutating func writeWireByteString(_ bytes: some Collection<UInt8>) -> Int {
        self.writeWireCount(bytes.count) + self.writeBytes(bytes)
    }

    /// Writes a UInt32 length and the string's UTF-8.
    @discardableResult
    mutating func writeWireString(_ string: String) -> Int {
        self.writeWireCount(string.utf8.count) + self.writeString(string)
    }

    /// Writes a UInt8 presence tag.
    @discardableResult
    mutating func writeWireOptionalTag(_ present: Bool) -> Int {
        self.writeInteger(present ? 1 : 0 as UInt8)
    }

    /// Writes a UInt32 count and the strings.
    @discardableResult
    mutating func writeWireStrings(_ strings: [String]) -> Int {
        var written = self.writeWireCount(strings.count)
        for string in strings {
            written += self.writeWireString(string)
        }
        return written
    }

    /// Writes a UInt32 digest count and the digests.
    @discardableResult
    mutating func writeWirePieceHashes(_ hashes: PieceHashes) -> Int {
        self.writeWireCount(hashes.count) + self.writeBytes(hashes.bytes)
    }
}
