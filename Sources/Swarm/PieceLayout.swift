/// How a file of `fileSize` bytes is cut into pieces of `pieceSize` bytes; the last piece may be shorter.
public struct PieceLayout: Hashable, Sendable {
    public let fileSize: UInt64
    public let pieceSize: Int

    public init(fileSize: UInt64, pieceSize: Int) {
        precondition(pieceSize > 0, "a piece has at least one byte")
        self.fileSize = fileSize
        self.pieceSize = pieceSize
    }

    /// ceil(fileSize / pieceSize); 0 for an empty file.
    public var pieceCount: Int { Int((self.fileSize + UInt64(self.pieceSize) - 1) / UInt64(self.pieceSize)) }

    /// Where piece `index` starts in the file.
    public func offset(of index: Int) -> UInt64 { UInt64(index) * UInt64(self.pieceSize) }

    /// The length of piece `index`.
    public func length(of index: Int) -> Int {
        Int(min(UInt64(self.pieceSize), self.fileSize - self.offset(of: index)))
    }
}
