import Logging
import NIOCore
import NIOPosix
import Swarm
import Wire

extension PeerAddress {
    /// The download core's name for this address, what bans are held against.
    var key: PeerKey { "\(self.host):\(self.port)" }
}

extension Download {
    // MARK: Connections

    /// Dials the candidates that are due, as many as may be dialed at once.
    func dialMore() {
        guard self.core.state.isRunning, !self.core.isComplete else { return }
        for address in self.candidates.nextToDial(now: self.now) { self.connect(to: address) }
    }

    private func connect(to address: PeerAddress) {
        guard !self.core.isBanned(address.key), self.connecting[address] == nil else {
            self.candidates.forget(address)
            return
        }
        let id = self.nextPeer
        self.nextPeer += 1
        self.connecting[address] = id
        let link = PeerLink(
            address: address, hello: self.hello, layout: self.layout, part: self.part, events: self.events(of: id))
        let loopBound = NIOLoopBound(link, eventLoop: self.loop)
        let decoder = PeerLink.decoder(for: self.layout)
        ClientBootstrap(group: self.loop)
            .connectTimeout(.seconds(3))
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelOption(
                .recvAllocator,
                value: AdaptiveRecvByteBufferAllocator(minimum: 64 << 10, initial: 256 << 10, maximum: 1 << 20)
            )
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(decoder))
                    try channel.pipeline.syncOperations.addHandler(loopBound.value)
                }
            }
            .connect(host: address.host, port: Int(address.port))
            .hop(to: self.loop)
            .whenComplete { [weak self] result in
                guard let self, self.core.state.isRunning else {
                    // The download ended while this connection was being made: nothing will use it.
                    if case .success(let channel) = result { channel.close(promise: nil) }
                    return
                }
                switch result {
                case .success:
                    self.links[id] = loopBound.value
                    self.candidates.connected(address)
                case .failure(let error):
                    self.connecting[address] = nil
                    self.candidates.failed(address, now: self.now)
                    if self.unreachable.insert(address).inserted {
                        self.environment.logger.info(
                            "cannot reach a peer; trying again later, with a growing back-off",
                            metadata: [
                                "peer.address": "\(address.key)", "download.name": "\(self.record.name)",
                                "error": "\(error)",
                            ])
                    }
                    if self.links.isEmpty { self.waitForSeeders() }
                    self.dialMore()
                }
            }
    }

    /// What the link to peer `id` reports, each carried out on this download's loop.
    private func events(of id: PeerID) -> PeerLink.Events {
        PeerLink.Events(
            welcomed: { [weak self] has, peers in self?.welcomed(id, has: has, peers: peers) },
            has: { [weak self] piece in
                guard let self else { return }
                self.perform(self.core.peerHas(id, piece: piece, now: self.now))
            },
            lacks: { [weak self] piece in
                guard let self else { return }
                self.perform(self.core.pieceFailed(piece, from: id, blame: false, now: self.now))
            },
            exchanged: { [weak self] peers in self?.exchanged(peers, from: id) },
            accepts: { [weak self] piece in self?.core.accepts(piece, from: id) ?? false },
            delivered: { [weak self] piece, digest in self?.delivered(piece, digest: digest, from: id) },
            progressed: { [weak self] in
                guard let self else { return }
                self.core.progress(id, now: self.now)
            },
            diskFailed: { [weak self] error in
                self?.fail(
                    error.description + "; the part file keeps the verified pieces: run the download again to resume")
            },
            failed: { [weak self] error in self?.linkFailed(id, error) },
            closed: { [weak self] in self?.linkClosed(id) })
    }

    private func welcomed(_ peer: PeerID, has: Bitfield, peers: [PeerAddress]) {
        guard let link = self.links[peer] else { return }
        let wasWaiting = self.core.state == .waiting
        self.perform(self.core.peerJoined(peer, at: link.address.key, has: has, now: self.now))
        if wasWaiting, self.core.state == .downloading { self.message = nil }
        self.exchanged(peers, from: peer)
    }

    /// A piece's bytes all arrived from `peer`, with the SHA1 of the stream.
    private func delivered(_ piece: Int, digest: [UInt8], from peer: PeerID) {
        let expected = Array(self.hashes[piece])
        guard digest == expected else {
            self.environment.logger.warning(
                "a piece from a serving peer failed its SHA1",
                metadata: [
                    "piece": "\(piece)", "download.name": "\(self.record.name)",
                    "peer.address": "\(self.links[peer]?.address.key ?? "gone")",
                ])
            self.environment.metrics.piecesFailed.increment()
            return self.perform(self.core.pieceFailed(piece, from: peer, now: self.now))
        }
        if self.core.isContended(piece) {
            // Two peers wrote this piece: check what the disk holds.
            guard (try? self.part.digest(of: piece, layout: self.layout, buffer: self.scratch)) == expected else {
                self.environment.metrics.piecesFailed.increment()
                return self.perform(self.core.pieceCorrupted(piece, now: self.now))
            }
        }
        self.credit(piece, to: peer)
        self.perform(self.core.pieceVerified(piece, from: peer, now: self.now))
    }

    /// Counts verified piece `piece` to the peer that sent it, and updates the share of the download that came
    /// from others than the first seeder.
    private func credit(_ piece: Int, to peer: PeerID) {
        let metrics = self.environment.metrics
        metrics.piecesVerified.increment()
        guard let address = self.links[peer]?.address.key else { return }
        let bytes = self.layout.length(of: piece)
        metrics.received(group: self.record.group, file: self.record.name, from: address).increment(by: Int64(bytes))
        if address == self.firstSeeder {
            self.bytesFromFirstSeeder += bytes
        } else {
            self.bytesFromOthers += bytes
        }
        metrics.fromOthers(group: self.record.group, file: self.record.name)
            .set(Double(self.bytesFromOthers) / Double(self.bytesFromOthers + self.bytesFromFirstSeeder))
    }

    private func linkFailed(_ peer: PeerID, _ error: LinkError) {
        guard let link = self.links[peer] else { return }
        self.environment.logger.info(
            "gave up a connection to a serving peer",
            metadata: [
                "peer.address": "\(link.address.key)", "download.name": "\(self.record.name)", "reason": "\(error)",
            ])
        if error.isRefusal { self.message = error.description }
    }

    /// Forgets the link to `peer` (its address may be dialed again, after a back-off); nil when there was none.
    private func removeLink(_ peer: PeerID) -> PeerLink? {
        guard let link = self.links.removeValue(forKey: peer) else { return nil }
        self.connecting[link.address] = nil
        self.candidates.failed(link.address, now: self.now)
        return link
    }

    private func linkClosed(_ peer: PeerID) {
        guard self.removeLink(peer) != nil else { return }
        self.perform(self.core.peerLeft(peer, now: self.now))
    }

    /// Addresses serving peer `peer` named (peer exchange): kept within the bounds of ``PeerCandidates``, and
    /// dialed a few at a time.
    private func exchanged(_ addresses: [PeerAddress], from peer: PeerID) {
        let dropped = self.candidates.exchanged(addresses, from: peer)
        if dropped > 0, self.overlong.insert(peer).inserted, let link = self.links[peer] {
            self.environment.logger.warning(
                "a serving peer named more peers than a download takes from one; ignoring the rest",
                metadata: [
                    "peer.address": "\(link.address.key)", "download.name": "\(self.record.name)",
                    "peer.limit": "\(self.candidates.policy.perSource)", "peers.dropped": "\(dropped)",
                ])
        }
        self.dialMore()
    }

    private func waitForSeeders() {
        self.core.noSeedersFound()
        if self.core.state == .waiting {
            self.message = self.message ?? "no peer that has the missing pieces is reachable; waiting for seeders"
        }
    }

    // MARK: The core's actions

    func perform(_ actions: [DownloadAction]) {
        for action in actions {
            switch action {
            case .request(let peer, let pieces):
                self.links[peer]?.request(pieces)
            case .cancel(let peer, let pieces):
                self.links[peer]?.cancel(pieces)
            case .drop(let peer, let reason):
                guard let link = self.removeLink(peer) else { continue }
                var metadata: Logger.Metadata = [
                    "peer.address": "\(link.address.key)", "download.name": "\(self.record.name)",
                ]
                switch reason {
                case .timedOut:
                    self.environment.logger.warning(
                        "dropped a serving peer that sent nothing within the peer timeout", metadata: metadata)
                case .badPieces(let count):
                    self.candidates.forget(link.address)
                    self.environment.metrics.bans.increment()
                    metadata["pieces.failed"] = "\(count)"
                    self.environment.logger.warning(
                        "dropped and banned a serving peer whose pieces failed their SHA1", metadata: metadata)
                }
                link.close()
            case .verified(let piece):
                self.served.add(piece)
                self.haveDirty = true
                self.part.startWriteback(offset: self.layout.offset(of: piece), length: self.layout.length(of: piece))
            case .completed:
                self.finish()
            case .noPeers:
                self.waitForSeeders()
            }
        }
    }
}
