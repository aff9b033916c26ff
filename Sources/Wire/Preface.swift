/// The 5 bytes that open a binary connection: `0x89 'T' 'N' 'D'` then the protocol version.
///
/// A binary client sends them first and the tracker answers with the same 5 bytes. The first byte of a
/// connection tells the formats apart: `0x89` (never the start of a text command) means binary, anything else
/// means text. See docs/PROTOCOL.md.
public enum Preface {
    /// The magic that starts the preface: `0x89` then `TND` in ASCII.
    public static let magic: [UInt8] = [0x89, 0x54, 0x4E, 0x44]

    /// The binary protocol version this build speaks.
    public static let version: UInt8 = 1

    /// The whole preface: ``magic`` followed by ``version``.
    public static var bytes: [UInt8] { Self.magic + [Self.version] }

    /// The length of the preface in bytes.
    static let length = 5
}
