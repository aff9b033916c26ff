/// The answer to an admin command's challenge (`QUIT`, `PROMOTE`): HMAC-SHA256 under the cluster secret over the
/// command's name and the tracker's nonce, so the secret never crosses the wire and an answer to one command's
/// challenge is worth nothing for another.
public enum AdminProof {
    /// The proof that the sender of `command` (`"QUIT"`, `"PROMOTE"`) holds `secret`, for the challenge `nonce`.
    public static func make(secret: [UInt8], command: String, nonce: [UInt8]) -> [UInt8] {
        Crypto.hmacSHA256(key: secret, message: Array("tandem admin \(command)\u{0}".utf8) + nonce)
    }
}
