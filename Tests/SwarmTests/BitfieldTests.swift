import Testing

@testable import Swarm

/// The piece bitmap peers exchange, and how a file divides into pieces.
@Suite struct BitfieldTests {
    @Test func insertCountsEachPieceOnceAndPacksHighBitFirst() {
        var bits = Bitfield(count: 10)
        #expect(bits.bytes == [0, 0])
        let inserted = [bits.insert(0), bits.insert(9), bits.insert(9)]
        #expect(inserted == [true, true, false], "a piece already held is not counted again")
        #expect(bits.bytes == [0b1000_0000, 0b0100_0000])
        #expect(bits.setCount == 2)
        #expect(bits.indexes == [0, 9])
        #expect(bits[0] && bits[9] && !bits[1])
        #expect(!bits.isComplete)
    }

    @Test func aFullFieldLeavesTheSpareBitsClear() {
        let bits = Bitfield(count: 10, full: true)
        #expect(bits.isComplete)
        #expect(bits.bytes == [0xFF, 0b1100_0000])
        #expect(Bitfield(count: 0).isComplete, "a file of no pieces is complete")
    }

    @Test func bytesFromTheWireAreCheckedAgainstTheCount() {
        #expect(Bitfield(bytes: [0b1010_0000], count: 3)?.indexes == [0, 2])
        #expect(Bitfield(bytes: [0xFF], count: 3) == nil, "spare bits set")
        #expect(Bitfield(bytes: [0xFF, 0], count: 8) == nil, "one byte too many")
        #expect(Bitfield(bytes: [], count: 1) == nil, "one byte too few")
    }

    @Test(arguments: [
        (size: 0, count: 0, last: 0), (size: 1, count: 1, last: 1), (size: 512, count: 1, last: 512),
        (size: 513, count: 2, last: 1), (size: 1536, count: 3, last: 512),
    ])
    func layoutCutsTheFileIntoPieces(size: Int, count: Int, last: Int) {
        let layout = PieceLayout(fileSize: UInt64(size), pieceSize: 512)
        #expect(layout.pieceCount == count)
        if count > 0 {
            #expect(layout.length(of: count - 1) == last)
            #expect(layout.offset(of: count - 1) == UInt64((count - 1) * 512))
        }
    }
}
