import Dispatch
import Foundation

/// Catches SIGINT and SIGTERM for the life of the value and hands each one to `handler` instead of dying.
///
/// `tandemctl up` uses it to pass the signal on to its trackers (which run in their own process groups, so a
/// Ctrl-C at the terminal reaches only `tandemctl`) and then wait for them.
final class SignalForwarder {
    private let sources: [any DispatchSourceSignal]

    init(signals: [Int32] = [SIGINT, SIGTERM], handler: @escaping @Sendable (Int32) -> Void) {
        self.sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { handler(number) }
            source.resume()
            return source
        }
    }

    /// Stops catching; the signals get their default action again.
    func cancel() {
        for source in self.sources {
            source.cancel()
            signal(Int32(source.handle), SIG_DFL)
        }
    }
}
