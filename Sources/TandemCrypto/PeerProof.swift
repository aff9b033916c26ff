/// The proof a downloader shows a serving peer: that it holds a session of `user` and asks for files of `group`.
///
/// It is HMAC-SHA256 keyed with the session token over the group name, so it names one group, dies with the
/// session (log out, or the tracker closing the oldest session) and reveals nothing of the token. The serving peer
/// cannot check it itself: it asks the tracker (`CHECK_PEER`), which tries the user's open sessions.
public enum PeerProof {
    /// The proof's length in bytes.
    public static let length = 32

    /// The proof for `group` from the session `token`.
    public static func make(token: String, group: String) -> [UInt8] {
        Crypto.hmacSHA256(key: Array(token.utf8), message: Array(("tandem peer proof\u{0}" + group).utf8))
    }
}
