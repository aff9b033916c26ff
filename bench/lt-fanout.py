#!/usr/bin/python3
"""libtorrent beside Tandem in bench/fanout: make a torrent, seed it, or fetch it and go on seeding.

  lt-fanout.py make FILE TORRENT TRACKER_URL PIECE_SIZE   writes TORRENT, prints the info hash
  lt-fanout.py seed TORRENT DIR ADDRESS PORT              seeds DIR/<name> on ADDRESS:PORT until killed
  lt-fanout.py fetch TORRENT DIR ADDRESS PORT             downloads into DIR, prints "done seconds=S" once it
                                                          has every piece, then seeds until killed

One session per process, one process per rig host. The settings are bench/lt-swarm.py's (bench/download's
tuning: TCP only, no DHT or local discovery, deep request queues, large send buffers, no upload slot limit),
listening on the host's own address instead of loopback; no rate limit: the rig's shaped links are the only cap.
A fetching peer stays in the swarm after it finishes, as a Tandem downloader's daemon goes on seeding.
"""
import importlib.util
import os
import sys
import time

import libtorrent as lt

_spec = importlib.util.spec_from_file_location(
    "lt_swarm", os.path.join(os.path.dirname(os.path.abspath(__file__)), "lt-swarm.py"))
lt_swarm = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lt_swarm)


def session(address, port):
    settings = lt_swarm.settings(port)
    settings["listen_interfaces"] = f"{address}:{port}"
    return lt.session(settings)


def seed(torrent_path, directory, address, port):
    lt_swarm.seed(torrent_path, directory, port, session=session(address, port))


def fetch(torrent_path, directory, address, port):
    peers = session(address, port)
    started = time.monotonic()
    handle = lt_swarm.add(peers, torrent_path, directory, seed_mode=False)
    while not handle.status().is_seeding:
        for alert in peers.pop_alerts():
            if alert.category() & lt.alert.category_t.error_notification:
                print("libtorrent:", alert.message(), file=sys.stderr, flush=True)
        time.sleep(0.01)
    print(f"done seconds={time.monotonic() - started:.3f}", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    {"make": lt_swarm.make, "seed": seed, "fetch": fetch}[command](*arguments)
