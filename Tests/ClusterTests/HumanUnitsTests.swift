import Testing

@testable import Cluster

@Suite struct HumanUnitsTests {
    @Test(arguments: [
        ("0", 0), ("65536", 65536), ("10_000", 10_000), ("1B", 1),
        ("512KiB", 512 << 10), ("16MiB", 16 << 20), ("64KiB", 64 << 10), ("1GiB", 1 << 30), ("2TiB", 2 << 40),
        ("1KB", 1000), ("4kB", 4000), ("1MB", 1_000_000), ("3GB", 3_000_000_000),
        ("16 MiB", 16 << 20), (" 1.5MiB ", 3 << 19), ("0.5KiB", 512), ("1.25MB", 1_250_000),
    ])
    func sizeParses(_ text: String, _ bytes: Int) {
        #expect(HumanUnits.size(text) == bytes)
    }

    @Test(arguments: [
        "", "KiB", "12XB", "1.5B", "0.3KiB", "-1KiB", "1..5MiB", ".5MiB", "1.MiB", "1mib", "ten", "1e3",
        "99999999999TiB",
    ])
    func sizeRejects(_ text: String) {
        #expect(HumanUnits.size(text) == nil)
    }

    @Test(arguments: [
        ("100ms", Duration.milliseconds(100)), ("1s", .seconds(1)), ("2m", .seconds(120)),
        ("1.5s", .milliseconds(1500)),
        ("1h", .seconds(3600)), ("250us", .microseconds(250)), ("7ns", .nanoseconds(7)), ("0.25m", .seconds(15)),
        ("300 s", .seconds(300)),
    ])
    func durationParses(_ text: String, _ duration: Duration) {
        #expect(HumanUnits.duration(text) == duration)
    }

    @Test(arguments: ["", "100", "1sec", "s", "1.5ns", "-1s", "1,5s", "1 d"])
    func durationRejects(_ text: String) {
        #expect(HumanUnits.duration(text) == nil)
    }

    @Test func rangesAreShownInTheirUnits() {
        #expect(HumanUnits.describe((16 << 10)...(16 << 20)) == "16KiB...16MiB")
        #expect(HumanUnits.describe(1...65535) == "1...65535")
    }
}
