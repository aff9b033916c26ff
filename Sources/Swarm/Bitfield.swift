/// Which pieces of a file are present: bit `i` is bit `7 - i % 8` of byte `i / 8` (most significant first), as
/// the peer protocol's welcome carries it.
public struct Bitfield: Hashable, Sendable {
    /// How many pieces the field describes.
    public let count: Int
    /// The packed bits; the unused bits of the last byte are 0.
    public private(set) var bytes: [UInt8]
    /// How many bits are set.
    public private(set) var setCount: Int

    /// A field of `count` pieces, all absent, or all present when `full`.
    public init(count: Int, full: Bool = false) {
        self.count = count
        self.bytes = [UInt8](repeating: 0, count: (count + 7) / 8)
        self.setCount = 0
        if full {
            for index in 0..<count { self.insert(index) }
        }
    }

    /// The field `bytes` packs for `count` pieces; nil when the length is wrong or an unused bit is set.
    public init?(bytes: [UInt8], count: Int) {
        guard bytes.count == (count + 7) / 8 else { return nil }
        if count % 8 != 0, let last = bytes.last, last & (0xFF >> (count % 8)) != 0 { return nil }
        self.count = count
        self.bytes = bytes
        self.setCount = bytes.reduce(0) { $0 + $1.nonzeroBitCount }
    }

    /// Whether piece `index` is present.
    public subscript(index: Int) -> Bool {
        self.bytes[index / 8] & (0x80 >> (index % 8)) != 0
    }

    /// Marks piece `index` present. Returns whether it was absent.
    @discardableResult
    public mutating func insert(_ index: Int) -> Bool {
        guard !self[index] else { return false }
        self.bytes[index / 8] |= 0x80 >> (index % 8)
        self.setCount += 1
        return true
    }

    /// Whether every piece is present.
    public var isComplete: Bool { self.setCount == self.count }

    /// The indexes of the present pieces, ascending.
    public var indexes: [Int] { (0..<self.count).filter { self[$0] } }
}
