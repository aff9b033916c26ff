#!/usr/bin/env python3
"""The Redis side of bench/failover: a primary, a replica and three Sentinels on loopback, under the same write
load as `tandemctl drill kill-primary` (8 clients, each writing fresh keys one after another, reconnecting to
the primary Sentinel names and retrying a write with a backoff from 20 to 200 ms), and the same measures: the
longest span without an acknowledged write from the kill on, and acknowledged writes missing from the new
primary afterwards. Prints one line per run, then `runs=.. p50_ms=.. max_ms=.. acknowledged=.. lost=..`.

Usage: redis-failover.py WORKDIR RUNS
"""
import os
import signal
import socket
import subprocess
import sys
import threading
import time

WRITERS = 8
DOWN_AFTER_MS = 1000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def command(*args):
    out = b"*%d\r\n" % len(args)
    for arg in args:
        data = arg.encode() if isinstance(arg, str) else arg
        out += b"$%d\r\n%s\r\n" % (len(data), data)
    return out


def read_reply(sock_file):
    line = sock_file.readline()
    if not line:
        raise ConnectionError("closed")
    kind, rest = line[:1], line[1:].rstrip(b"\r\n")
    if kind in (b"+", b"-", b":"):
        return (kind, rest)
    if kind == b"$":
        length = int(rest)
        if length < 0:
            return (kind, None)
        data = sock_file.read(length + 2)[:-2]
        return (kind, data)
    if kind == b"*":
        count = int(rest)
        return (kind, [read_reply(sock_file)[1] for _ in range(max(count, 0))])
    raise ConnectionError("bad reply %r" % line)


def ask(port, *args, timeout=1.0):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(command(*args))
        return read_reply(s.makefile("rb"))


def wait_for(what, check, deadline=30.0):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            value = check()
            if value:
                return value
        except OSError:
            pass
        time.sleep(0.02)
    raise SystemExit("redis-failover: timed out waiting for %s" % what)


class Cluster:
    def __init__(self, work):
        self.work = work
        self.ports = [free_port(), free_port()]
        self.sentinels = [free_port() for _ in range(3)]
        self.servers = {}
        self.procs = []

    def start_server(self, port, replica_of=None):
        args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--appendonly", "yes",
                "--appendfsync", "always", "--save", "", "--dir", self.work, "--dbfilename", "dump-%d.rdb" % port,
                "--appendfilename", "aof-%d.aof" % port, "--appenddirname", "aof-%d" % port,
                "--logfile", os.path.join(self.work, "redis-%d.log" % port)]
        if replica_of:
            args += ["--replicaof", "127.0.0.1", str(replica_of)]
        proc = subprocess.Popen(args)
        self.servers[port] = proc
        self.procs.append(proc)
        wait_for("redis on %d" % port, lambda: ask(port, "PING")[1] == b"PONG")

    def start(self):
        self.start_server(self.ports[0])
        self.start_server(self.ports[1], replica_of=self.ports[0])
        for port in self.sentinels:
            path = os.path.join(self.work, "sentinel-%d.conf" % port)
            with open(path, "w") as f:
                f.write("port %d\nbind 127.0.0.1\ndir %s\n" % (port, self.work))
                f.write("sentinel monitor bench 127.0.0.1 %d 2\n" % self.ports[0])
                f.write("sentinel down-after-milliseconds bench %d\n" % DOWN_AFTER_MS)
                f.write("sentinel failover-timeout bench 10000\n")
            self.procs.append(subprocess.Popen(
                ["redis-sentinel", path, "--logfile", os.path.join(self.work, "sentinel-%d.log" % port)]))
        for port in self.sentinels:
            wait_for("sentinel %d to see the replica" % port, lambda: self.replica_count(port) >= 1)
        for port in self.sentinels:
            wait_for("sentinel %d to see the others" % port,
                     lambda: len(ask(port, "SENTINEL", "SENTINELS", "bench")[1]) >= 2)

    def replica_count(self, sentinel):
        replicas = ask(sentinel, "SENTINEL", "REPLICAS", "bench")[1]
        return sum(1 for r in replicas if b"slave" in r and b"s_down" not in b" ".join(r))

    def master(self):
        for port in self.sentinels:
            try:
                reply = ask(port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "bench")[1]
                return int(reply[1])
            except (OSError, ConnectionError, TypeError, IndexError):
                continue
        return None

    def in_sync(self, master):
        info = ask(master, "INFO", "replication")[1].decode()
        return "connected_slaves:1" in info and "state=online" in info

    def stop(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
        for proc in self.procs:
            proc.wait()


class Load:
    def __init__(self, cluster, prefix):
        self.cluster = cluster
        self.prefix = prefix
        self.lock = threading.Lock()
        self.acks = []  # (time, key)
        self.stopped = False

    def run(self):
        self.threads = [threading.Thread(target=self.writer, args=(n,)) for n in range(WRITERS)]
        for t in self.threads:
            t.start()

    def stop(self):
        self.stopped = True
        for t in self.threads:
            t.join()

    def writer(self, n):
        sock = None
        index = 0
        backoff = 0.02
        while not self.stopped:
            key = "%s-w%d-%d" % (self.prefix, n, index)
            try:
                if sock is None:
                    port = self.cluster.master()
                    if port is None:
                        raise ConnectionError("no master")
                    sock = socket.create_connection(("127.0.0.1", port), timeout=2)
                    reader = sock.makefile("rb")
                sock.sendall(command("SET", key, "v" * 16))
                kind, _ = read_reply(reader)
                if kind != b"+":
                    raise ConnectionError("refused")
                with self.lock:
                    self.acks.append((time.monotonic(), key))
                index += 1
                backoff = 0.02
            except (OSError, ConnectionError):
                if sock is not None:
                    sock.close()
                sock = None
                time.sleep(backoff)
                backoff = min(backoff * 2, 0.2)
        if sock is not None:
            sock.close()


def unavailability(acks, fault):
    times = sorted(t for t, _ in acks)
    before = [t for t in times if t <= fault]
    previous = before[-1] if before else fault
    longest = 0.0
    for t in times:
        if t > fault:
            longest = max(longest, t - previous)
            previous = t
    return longest


def main():
    work, runs = sys.argv[1], int(sys.argv[2])
    cluster = Cluster(work)
    signal.signal(signal.SIGTERM, lambda *_: (cluster.stop(), sys.exit(1)))
    try:
        cluster.start()
        spans, acknowledged, lost = [], 0, 0
        for run in range(1, runs + 1):
            master = cluster.master()
            wait_for("the replica to be in sync", lambda: cluster.in_sync(master))
            load = Load(cluster, "run%d" % run)
            load.run()
            wait_for("writes", lambda: len(load.acks) >= WRITERS)
            time.sleep(0.5)
            fault = time.monotonic()
            cluster.servers[master].kill()
            cluster.servers[master].wait()
            new = wait_for("a new master", lambda: (lambda m: m if m and m != master else None)(cluster.master()))
            # Like tandemctl up: the killed server comes back after a while; Sentinel makes it a replica.
            time.sleep(2 * DOWN_AFTER_MS / 1000)
            cluster.start_server(master)
            wait_for("the old master to rejoin", lambda: cluster.in_sync(new))
            time.sleep(1)
            load.stop()
            missing = 0
            with socket.create_connection(("127.0.0.1", new), timeout=5) as s:
                reader = s.makefile("rb")
                for _, key in load.acks:
                    s.sendall(command("EXISTS", key))
                    if read_reply(reader)[1] != b"1":
                        missing += 1
            span = unavailability(load.acks, fault)
            spans.append(span)
            acknowledged += len(load.acks)
            lost += missing
            print("redis run %d: unavailability %d ms, %d acknowledged, %d lost" %
                  (run, span * 1000, len(load.acks), missing), flush=True)
        spans.sort()
        print("runs=%d p50_ms=%d max_ms=%d acknowledged=%d lost=%d" %
              (runs, spans[len(spans) // 2] * 1000, spans[-1] * 1000, acknowledged, lost))
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
