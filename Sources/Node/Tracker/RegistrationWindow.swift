/// How many accounts each client address registered in the last hour (`quotas.users_per_address_per_hour`):
/// registering needs no login, so this is what bounds it. A value: the engine keeps it under a lock and gives it
/// the time.
///
/// It remembers at most ``maxAddresses`` addresses; past that, the one whose latest registration is oldest is
/// forgotten. Each tracker counts what it is sent.
struct RegistrationWindow: Sendable {
    static let window: Duration = .seconds(3600)
    static let maxAddresses = 65_536

    let limit: Int
    /// Each address's registrations in the window, oldest first.
    private var recent: [String: [ContinuousClock.Instant]] = [:]

    init(limit: Int) {
        self.limit = limit
    }

    /// Records a registration from `address` at `now` and returns true, or returns false (recording nothing) when
    /// the address has registered ``limit`` accounts in the last hour.
    mutating func admit(_ address: String, now: ContinuousClock.Instant) -> Bool {
        var times = self.recent[address, default: []].filter { now - $0 < Self.window }
        guard times.count < self.limit else {
            self.recent[address] = times
            return false
        }
        times.append(now)
        self.recent[address] = times
        if self.recent.count > Self.maxAddresses,
            let stalest = self.recent.min(by: { ($0.value.last ?? now) < ($1.value.last ?? now) })?.key
        {
            self.recent[stalest] = nil
        }
        return true
    }

    /// When `address` may register again (its oldest registration in the window leaves it), if it may not now.
    func nextAllowed(_ address: String, now: ContinuousClock.Instant) -> Duration? {
        let times = self.recent[address, default: []].filter { now - $0 < Self.window }
        guard times.count >= self.limit, let oldest = times.first else { return nil }
        return Self.window - (now - oldest)
    }
}
