import COpenSSL

/// What OpenSSL refused to do.
public struct CryptoError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The OpenSSL call that failed.
    public let operation: String

    public var description: String { "OpenSSL \(self.operation) failed; check the libcrypto installation" }
}

/// SHA1, HMAC-SHA256, PBKDF2 and random bytes from the system's libcrypto. Stateless and thread-safe.
public enum Crypto {
    /// The SHA1 digest (20 bytes) of `bytes`.
    public static func sha1(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(SHA_DIGEST_LENGTH))
        _ = SHA1(bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, &digest)
        return digest
    }

    /// The SHA1 digest (20 bytes) of `bytes`.
    public static func sha1(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { Self.sha1($0) }
    }

    /// HMAC-SHA256 of `message` under `key` (32 bytes).
    public static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        message.withUnsafeBytes { Self.hmacSHA256(key: key, message: $0) }
    }

    /// HMAC-SHA256 of the bytes of `message` under `key` (32 bytes).
    public static func hmacSHA256(key: [UInt8], message: UnsafeRawBufferPointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        key.withUnsafeBufferPointer { keyPtr in
            _ = HMAC(
                EVP_sha256(), keyPtr.baseAddress, Int32(keyPtr.count),
                message.baseAddress?.assumingMemoryBound(to: UInt8.self), message.count, &out, &length)
        }
        return Array(out.prefix(Int(length)))
    }

    /// PBKDF2-HMAC-SHA256 of `password` with `salt`: a slow hash for storing passwords.
    ///
    /// - Parameters:
    ///   - iterations: the work factor; Tandem stores passwords with at least 100,000.
    ///   - length: the derived key's length in bytes.
    public static func pbkdf2SHA256(
        password: [UInt8], salt: [UInt8], iterations: Int, length: Int = 32
    ) throws(CryptoError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: length)
        let status = password.withUnsafeBufferPointer { pw in
            salt.withUnsafeBufferPointer { saltPtr in
                pw.withMemoryRebound(to: CChar.self) { pwChars in
                    PKCS5_PBKDF2_HMAC(
                        pwChars.baseAddress, Int32(pwChars.count), saltPtr.baseAddress, Int32(saltPtr.count),
                        Int32(iterations), EVP_sha256(), Int32(length), &out)
                }
            }
        }
        guard status == 1 else { throw CryptoError(operation: "PKCS5_PBKDF2_HMAC") }
        return out
    }

    /// `count` cryptographically random bytes.
    public static func randomBytes(_ count: Int) throws(CryptoError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        guard RAND_bytes(&out, Int32(count)) == 1 else { throw CryptoError(operation: "RAND_bytes") }
        return out
    }

    /// Compares two byte strings in time that depends only on their lengths.
    public static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        return lhs.withUnsafeBytes { left in
            rhs.withUnsafeBytes { right in CRYPTO_memcmp(left.baseAddress, right.baseAddress, left.count) == 0 }
        }
    }
}
