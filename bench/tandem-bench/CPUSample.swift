import Foundation

/// The CPU time (user + system) processes have used so far, read from `/proc/PID/stat`, so a run can say what each
/// process spent on the requests it measured, set-up left out.
struct CPUSample {
    /// Seconds of CPU, by process id; 0 is this process.
    var seconds: [Int32: Double]

    /// The CPU used so far by each of `pids` and by this process.
    static func now(of pids: [Int32]) -> CPUSample {
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        var seconds: [Int32: Double] = [:]
        for pid in pids + [0] {
            let path = pid == 0 ? "/proc/self/stat" : "/proc/\(pid)/stat"
            guard let stat = try? String(contentsOfFile: path, encoding: .utf8),
                let end = stat.lastIndex(of: ")")
            else { continue }
            // Fields after the command name, which may hold spaces: state is the 3rd field, utime the 14th.
            let fields = stat[stat.index(after: end)...].split(separator: " ")
            guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { continue }
            seconds[pid] = (user + system) / ticksPerSecond
        }
        return CPUSample(seconds: seconds)
    }

    /// `cpu_us_per_op=A/B/client`: microseconds of CPU per measured operation of each of `pids`, then of this
    /// client, between `start` and this sample.
    func line(since start: CPUSample, pids: [Int32], operations: Int) -> String {
        let figures = (pids + [0]).map { pid -> String in
            guard let now = self.seconds[pid], let then = start.seconds[pid], operations > 0 else { return "?" }
            return String(Int(((now - then) * 1e6 / Double(operations)).rounded()))
        }
        return "cpu_us_per_op=" + figures.joined(separator: "/")
    }
}
