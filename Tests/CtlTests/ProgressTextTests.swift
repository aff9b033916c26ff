import Testing

@testable import Ctl

/// The figures and bars that share, download and downloads print.
@Suite struct ProgressTextTests {
    static let sizes: [(Double, String)] = [
        (0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (1536, "1.5 KiB"), (512 * 1024 * 1024, "512.0 MiB"),
        (3 * 1024 * 1024 * 1024, "3.0 GiB"), (2048 * 1024 * 1024 * 1024 * 1024, "2048.0 TiB"),
    ]

    @Test(arguments: Self.sizes)
    func bytesUseBinaryUnits(count: Double, text: String) {
        #expect(ProgressText.bytes(count) == text)
    }

    @Test(
        arguments: [
            (nil, "--"), (Double.infinity, "--"), (-1, "--"), (0, "0s"), (41.2, "42s"), (65, "1m05s"),
            (7380, "2h03m"),
        ] as [(Double?, String)])
    func durationsRoundUp(seconds: Double?, text: String) {
        #expect(ProgressText.duration(seconds) == text)
    }

    @Test func barsFillInProportionAndAnEmptyTotalIsDone() {
        #expect(ProgressText.bar(done: 0, total: 100, width: 10) == "[..........]   0.0%")
        #expect(ProgressText.bar(done: 45, total: 100, width: 10) == "[####......]  45.0%")
        #expect(ProgressText.bar(done: 200, total: 100, width: 4) == "[####] 100.0%", "never beyond full")
        #expect(ProgressText.bar(done: 0, total: 0, width: 4) == "[####] 100.0%")
    }

    @Test func theLineHasBytesRateAndTimeLeft() {
        let line = ProgressText.line(done: 1 << 20, total: 4 << 20, rate: 512 * 1024, eta: 6)
        #expect(line.hasSuffix("  25.0% 1.0 MiB/4.0 MiB 512.0 KiB/s ETA 6s"), "\(line)")
    }

    @Test func theRateAndTimeLeftComeFromTheAverageSoFar() {
        #expect(
            ProgressText.line(done: 1 << 20, total: 4 << 20, elapsed: 2)
                == ProgressText.line(done: 1 << 20, total: 4 << 20, rate: 512 * 1024, eta: 6))
        #expect(ProgressText.line(done: 0, total: 4, elapsed: 0).hasSuffix("0 B/s ETA --"), "nothing yet: no estimate")
    }

    @Test func aLineIsCutToTheTerminalLessOneCell() {
        let long = String(repeating: "x", count: 150)
        #expect(ProgressText.fit(long, columns: 80).count == 79)
        #expect(ProgressText.fit(long, columns: 80).hasSuffix("…"))
        #expect(ProgressText.fit("short", columns: 80) == "short")
        #expect(
            ProgressText.fit(String(repeating: "y", count: 79), columns: 80).count == 79, "79 cells fit as they are")
        #expect(ProgressText.fit("abc", columns: 1) == "…")
    }
}
