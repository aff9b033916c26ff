/// Seeds for the randomized tests: fixed ones that always run, and one new each run (printed when it fails).
enum TestSeeds {
    static let fixed: [UInt64] = [1, 2, 0x5EED_7A4D]
    static let all: [UInt64] = Self.fixed + [UInt64.random(in: 0 ... .max)]
}
