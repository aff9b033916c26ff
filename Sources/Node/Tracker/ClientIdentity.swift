import NIOCore
import TandemCrypto
import Tracker
import Wire

/// A client as `CLIENT|id` made it known: its secret id, and the digests the tracker derives from it.
///
/// The secret stays in memory on the connection. What the op log keeps is ``key``, a one-way digest of it, and
/// for each write a digest of the request keyed by the secret, so whoever reads the log (or `tandemctl log`)
/// can neither act as the client nor tell what a digest covers.
struct ClientIdentity: Sendable {
    /// What numbers the client's writes in the op log: the first 8 bytes of HMAC-SHA256("tandem client", id).
    let key: UInt64
    /// The secret id as an HMAC key, set up once for the connection's requests.
    private let secret: HMACKey

    /// The identity of a client whose secret id is `secret`.
    init(secret: [UInt8]) throws(CryptoError) {
        self.secret = try HMACKey(secret)
        self.key = Crypto.hmacSHA256(key: Array("tandem client".utf8), message: secret).prefix(8)
            .reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// The origin of `request`, numbered `number` by the client and sent on the session `token` (nil before
    /// login): a retry of the same request on the same session has the same origin, anything else another digest.
    func origin(of request: Request, number: UInt32, session token: String?) throws(CryptoError) -> RequestOrigin {
        var content = ByteBuffer()
        content.writeString(token ?? "")
        content.writeInteger(UInt8(0))
        content.writeRequestFrame(RequestFrame(requestID: 0, request: request))
        let digest = try content.withUnsafeReadableBytes { bytes in
            Result { () throws(CryptoError) in try self.secret.authenticate(bytes) }
        }.get()
        return RequestOrigin(
            client: self.key, request: UInt64(number), digest: Array(digest.prefix(RequestOrigin.digestLength)))
    }
}
