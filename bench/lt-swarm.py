#!/usr/bin/python3
"""libtorrent beside Tandem in bench/download: make a torrent, seed it, or download it once.

  lt-swarm.py make FILE TORRENT TRACKER_URL PIECE_SIZE   writes TORRENT, prints the info hash
  lt-swarm.py seed TORRENT DIR PORT                      seeds DIR/<name> on 127.0.0.1:PORT until killed
  lt-swarm.py download TORRENT DIR PORT                  downloads into DIR, prints one line of figures

A v1 torrent (aria2c reads no other). libtorrent is tuned as issue 4 asks: TCP only, tick_interval 100, deep request queues, large send buffers,
max_queued_disk_bytes 256 MiB. The figures: seconds from adding the torrent to the finished state, CPU seconds
(user + sys) over the same span, and the peak RSS and peak anonymous RSS of this process during it.
"""
import os
import resource
import sys
import threading
import time

import libtorrent as lt


def settings(port):
    return {
        "listen_interfaces": f"127.0.0.1:{port}",
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "allow_multiple_connections_per_ip": True,
        "tick_interval": 100,
        "max_out_request_queue": 5000,
        "max_allowed_in_request_queue": 5000,
        "request_queue_time": 5,
        "send_buffer_watermark": 32 * 1024 * 1024,
        "send_buffer_low_watermark": 4 * 1024 * 1024,
        "send_buffer_watermark_factor": 200,
        "max_queued_disk_bytes": 256 * 1024 * 1024,
        "aio_threads": 4,
        "hashing_threads": 2,
        "connections_limit": 200,
        "unchoke_slots_limit": -1,
        "alert_mask": lt.alert.category_t.error_notification | lt.alert.category_t.status_notification,
    }


def make(path, torrent_path, tracker, piece_size):
    storage = lt.file_storage()
    lt.add_files(storage, path)
    torrent = lt.create_torrent(storage, int(piece_size), flags=lt.create_torrent.v1_only)
    torrent.add_tracker(tracker)
    lt.set_piece_hashes(torrent, os.path.dirname(os.path.abspath(path)))
    with open(torrent_path, "wb") as out:
        out.write(lt.bencode(torrent.generate()))
    print(lt.torrent_info(torrent_path).info_hash())


def add(session, torrent_path, directory, seed_mode):
    params = lt.add_torrent_params()
    params.ti = lt.torrent_info(torrent_path)
    params.save_path = directory
    if seed_mode:
        params.flags |= lt.torrent_flags.seed_mode
    return session.add_torrent(params)


def seed(torrent_path, directory, port, session=None):
    """Seeds until killed, in `session` (one on `port` when None)."""
    session = session or lt.session(settings(port))
    handle = add(session, torrent_path, directory, seed_mode=True)
    while not handle.status().is_seeding:
        time.sleep(0.05)
    handle.force_reannounce()
    print("seeding", flush=True)
    while True:
        time.sleep(3600)


class Peaks(threading.Thread):
    """Samples VmRSS and RssAnon of this process every 20 ms."""

    def __init__(self):
        super().__init__(daemon=True)
        self.rss = 0
        self.anon = 0
        self.running = True

    def run(self):
        while self.running:
            with open("/proc/self/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        self.rss = max(self.rss, int(line.split()[1]))
                    elif line.startswith("RssAnon:"):
                        self.anon = max(self.anon, int(line.split()[1]))
            time.sleep(0.02)


def download(torrent_path, directory, port):
    session = lt.session(settings(port))
    peaks = Peaks()
    peaks.start()
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    handle = add(session, torrent_path, directory, seed_mode=False)
    while not handle.status().is_seeding:
        for alert in session.pop_alerts():
            if alert.category() & lt.alert.category_t.error_notification:
                print("libtorrent:", alert.message(), file=sys.stderr)
        time.sleep(0.01)
    seconds = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    peaks.running = False
    peaks.join()
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"seconds={seconds:.3f} cpu={cpu:.3f} rss_kib={peaks.rss} anon_kib={peaks.anon}", flush=True)


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    {"make": make, "seed": seed, "download": download}[command](*arguments)
