import COpenSSL

/// SHA1 over bytes that arrive in parts: a piece hashed as it streams to disk, never held whole.
public final class SHA1Stream {
    private let context: OpaquePointer

    /// A fresh digest.
    public init() {
        guard let context = EVP_MD_CTX_new() else { fatalError("OpenSSL could not allocate a digest context") }
        self.context = context
        self.reset()
    }

    deinit {
        EVP_MD_CTX_free(self.context)
    }

    /// Starts over, as if nothing had been added.
    public func reset() {
        EVP_DigestInit_ex(self.context, EVP_sha1(), nil)
    }

    /// Adds `bytes`.
    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        EVP_DigestUpdate(self.context, base, bytes.count)
    }

    /// The digest (20 bytes) of everything added since the last reset; starts over after.
    public func finish() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(SHA_DIGEST_LENGTH))
        var length: UInt32 = 0
        EVP_DigestFinal_ex(self.context, &digest, &length)
        self.reset()
        return digest
    }
}

@available(*, unavailable)
extension SHA1Stream: Sendable {}
