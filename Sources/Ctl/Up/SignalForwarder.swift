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
            #if canImport(Darwin)
            // Darwin's kqueue sees a signal only when its default action is off; Linux's Dispatch installs its own
            // handler, and ignoring the signal there would discard it before Dispatch sees it.
            signal(number, SIG_IGN)
            #endif
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { handler(number) }
            source.resume()
            return source
        }
    }

    /// Stops handing signals on (for use just before exiting).
    func cancel() {
        for source in self.sources { source.cancel() }
    }
}
