import Swarm

extension Download {
    /// Saves the verified pieces, so that a restarted download resumes from them.
    func saveHave() {
        guard self.haveDirty else { return }
        self.haveDirty = false
        do {
            try self.environment.store.saveHave(self.record.fileID, self.core.have)
        } catch {
            self.environment.logger.error(
                "cannot save which pieces are verified",
                metadata: ["download.name": "\(self.record.name)", "error": "\(error)"])
        }
    }

    /// Every piece is verified: syncs the part file, moves it into place without replacing anything, and seeds.
    func finish() {
        self.haveDirty = true
        self.saveHave()
        self.stopTicking()
        for link in self.links.values { link.close() }
        let identity: FileIdentity
        do throws(PeerError) {
            try self.part.sync()
            // Never replaces a file that appeared at the target meanwhile, and moves the part file this download
            // wrote, whatever was put at its name since.
            try self.part.rename(to: self.record.target)
            identity = try self.part.identity()
        } catch {
            return self.fail(error.description)
        }
        self.core.finished()
        self.message = nil
        self.environment.library.remove(self.record.fileID, in: self.record.group)
        self.environment.completed(self.record, identity)
        self.wakeWaiters()
    }

    /// Ends the download for good with `message`.
    func fail(_ message: String) {
        guard !self.core.state.hasEnded else { return }
        self.environment.logger.error(
            "download failed", metadata: ["download.name": "\(self.record.name)", "error": "\(message)"])
        self.core.failed()
        self.message = message
        self.stop()
    }
}
