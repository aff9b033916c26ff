import Foundation

/// The text of progress bars and figures: pure, so that it is tested without a terminal.
enum ProgressText {
    /// `1.5 GiB`, `512.0 KiB`, `13 B`.
    static func bytes(_ count: Double) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = count
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(Int(value)) B" : String(format: "%.1f %@", value, units[unit])
    }

    /// `1m05s`, `42s`, `2h03m`; `--` when unknown.
    static func duration(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite, seconds >= 0 else { return "--" }
        let whole = Int(seconds.rounded(.up))
        if whole >= 3600 { return String(format: "%dh%02dm", whole / 3600, whole % 3600 / 60) }
        if whole >= 60 { return String(format: "%dm%02ds", whole / 60, whole % 60) }
        return "\(whole)s"
    }

    /// `[#########...........]  45.0%` in `width` cells of bar.
    static func bar(done: UInt64, total: UInt64, width: Int = 24) -> String {
        let fraction = total == 0 ? 1 : min(1, Double(done) / Double(total))
        let filled = Int((fraction * Double(width)).rounded(.down))
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
            + String(format: " %5.1f%%", fraction * 100)
    }

    /// The line for `done` of `total` bytes after `elapsed` seconds: rate and time left from the average so far.
    static func line(done: UInt64, total: UInt64, elapsed: Double) -> String {
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - min(done, total)) / rate : nil
        return self.line(done: done, total: total, rate: rate, eta: eta)
    }

    /// `text` cut to fit in `columns` cells less one (a line that fills the last cell wraps on some terminals),
    /// ending in `…` when it was cut. Every character counts as one cell.
    static func fit(_ text: String, columns: Int) -> String {
        let room = max(1, columns - 1)
        guard text.count > room else { return text }
        return String(text.prefix(room - 1)) + "…"
    }

    /// The bar with the bytes, rate and time left: what `share` and `download` redraw on a terminal.
    static func line(done: UInt64, total: UInt64, rate: Double, eta: Double?) -> String {
        "\(self.bar(done: done, total: total)) \(self.bytes(Double(done)))/\(self.bytes(Double(total))) "
            + "\(self.bytes(rate))/s ETA \(self.duration(eta))"
    }
}

/// Redraws one line on standard error when it is a terminal, cut to the terminal's width so that it never wraps;
/// prints nothing otherwise.
struct ProgressLine {
    private let enabled = isatty(STDERR_FILENO) == 1
    private var drawn = false

    mutating func draw(_ text: String) {
        guard self.enabled else { return }
        let line = ProgressText.fit(text, columns: Self.columns(of: STDERR_FILENO))
        FileHandle.standardError.write(Data(("\r\u{1B}[2K" + line).utf8))
        self.drawn = true
    }

    /// The width of the terminal on `descriptor`, asked each time (it may be resized); 80 when it does not say.
    static func columns(of descriptor: Int32) -> Int {
        var size = winsize()
        guard ioctl(descriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }

    mutating func finish() {
        guard self.drawn else { return }
        FileHandle.standardError.write(Data("\n".utf8))
        self.drawn = false
    }
}
