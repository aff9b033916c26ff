import Swarm
import TrackerClient
import Wire

extension Download {
    /// Asks the tracker for the file's seeders when the core says it is time, and dials those not connected yet.
    func pollSeeders() {
        guard !self.lookingForSeeders, self.core.shouldAskForSeeders(now: self.now) else { return }
        self.lookingForSeeders = true
        let environment = self.environment
        let record = self.record
        let promise = self.loop.makePromise(of: [PeerAddress].self)
        promise.completeWithTask {
            let info = try await environment.client.fileInfo(
                group: record.group, name: record.name, session: environment.token)
            guard info.fileID == record.fileID else {
                throw PeerError.changedOnTracker(record.name, in: record.group, fileID: info.fileID)
            }
            return info.seeders.filter { $0.user != environment.user }.map { PeerAddress(host: $0.host, port: $0.port) }
        }
        promise.futureResult.whenComplete { [weak self] result in
            guard let self else { return }
            self.lookingForSeeders = false
            switch result {
            case .success(let seeders):
                if seeders.isEmpty && self.links.isEmpty {
                    self.message = "no seeder is registered for \(record.name); waiting for one"
                    self.core.noSeedersFound()
                }
                self.firstSeeder = self.firstSeeder ?? seeders.first?.key
                self.candidates.listedByTracker(seeders)
                self.dialMore()
            case .failure(let error):
                self.message = "cannot ask the tracker for seeders: \(error)"
                self.core.noSeedersFound()
            }
        }
    }
}
