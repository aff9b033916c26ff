import COpenSSL

/// HMAC-SHA256 under one key, set up once: each message then costs a copy of the keyed state and the hashing,
/// where a one-shot `HMAC()` looks the algorithm up and sets the key again every time (the most of a tracker's
/// CPU per write, measured in docs/PERFORMANCE.md).
///
/// The keyed context is only ever copied, never updated, so one key serves any number of threads.
public final class HMACKey: @unchecked Sendable {
    private let keyed: OpaquePointer

    /// A key for HMAC-SHA256; fails only when libcrypto cannot allocate.
    public init(_ key: [UInt8]) throws(CryptoError) {
        guard let mac = EVP_MAC_fetch(nil, "HMAC", nil) else { throw CryptoError(operation: "EVP_MAC_fetch") }
        defer { EVP_MAC_free(mac) }
        guard let context = EVP_MAC_CTX_new(mac) else { throw CryptoError(operation: "EVP_MAC_CTX_new") }
        let keyed = "digest".withCString { name in
            "SHA256".withCString { digest in
                var parameters = [
                    OSSL_PARAM_construct_utf8_string(name, UnsafeMutablePointer(mutating: digest), 0),
                    OSSL_PARAM_construct_end(),
                ]
                return key.withUnsafeBufferPointer { bytes in
                    EVP_MAC_init(context, bytes.baseAddress, bytes.count, &parameters) == 1
                }
            }
        }
        guard keyed else {
            EVP_MAC_CTX_free(context)
            throw CryptoError(operation: "EVP_MAC_init")
        }
        self.keyed = context
    }

    deinit {
        EVP_MAC_CTX_free(self.keyed)
    }

    /// The 32-byte HMAC-SHA256 of `message`.
    public func authenticate(_ message: UnsafeRawBufferPointer) throws(CryptoError) -> [UInt8] {
        guard let context = EVP_MAC_CTX_dup(self.keyed) else { throw CryptoError(operation: "EVP_MAC_CTX_dup") }
        defer { EVP_MAC_CTX_free(context) }
        var out = [UInt8](repeating: 0, count: 32)
        var length = 0
        guard EVP_MAC_update(context, message.baseAddress?.assumingMemoryBound(to: UInt8.self), message.count) == 1,
            EVP_MAC_final(context, &out, &length, out.count) == 1, length == out.count
        else { throw CryptoError(operation: "EVP_MAC_final") }
        return out
    }
}
