import TandemCrypto
import Testing
import Wire

/// The keyed HMAC the tracker uses for request digests: the same bytes as the one-shot HMAC, whatever the
/// message, and RFC 4231's vector.
@Suite struct HMACKeyTests {
    @Test func rfc4231TestCase2() throws {
        let key = try HMACKey(Array("Jefe".utf8))
        let mac = try Array("what do ya want for nothing?".utf8).withUnsafeBytes { try key.authenticate($0) }
        #expect(Hex.encode(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func aKeyUsedManyTimesAnswersAsTheOneShotHMAC() throws {
        let secret = (0..<32).map { UInt8($0 * 7 & 0xFF) }
        let key = try HMACKey(secret)
        for length in [0, 1, 55, 64, 65, 1000] {
            let message = (0..<length).map { UInt8($0 & 0xFF) }
            let mac = try message.withUnsafeBytes { try key.authenticate($0) }
            #expect(mac == Crypto.hmacSHA256(key: secret, message: message), "length \(length)")
        }
    }
}
