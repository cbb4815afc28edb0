"""Keep the machine's ephemeral ports busy with loopback connections (issue 13, "No port races").

    .venv/bin/python bench/port_churn.py [--seconds S] [--held N] [--probe K]

A listener on 127.0.0.1 and a client that opens connections to it as fast as it can, holding the
newest ``--held`` open (each holds an ephemeral local port, as a busy machine's outgoing
connections do) and closing the oldest. Every 10 s it prints the connections opened so far, the
rate and how many are held. Run a test suite beside it to show the suite's servers do not lose
their ports.

``--probe K`` first measures, while the churn runs, how often a port chosen the way the test
session used to choose it (bind port 0, close; the server bound it after initdb, seconds later)
is taken ``--probe-delay`` s later, against ``free_port()`` (a port below the ephemeral range),
over K choices each; then it keeps churning for ``--seconds``.
"""

from __future__ import annotations

import argparse
import collections
import socket
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def listener() -> tuple[socket.socket, int]:
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(4096)
    return server, server.getsockname()[1]


def accept_forever(server: socket.socket, stop: threading.Event) -> None:
    server.settimeout(0.5)
    while not stop.is_set():
        try:
            conn, _ = server.accept()
        except (TimeoutError, OSError):
            continue
        conn.close()  # the client's end keeps its local port until the client closes it


class Churn:
    def __init__(self, port: int, held: int):
        self.port, self.held = port, held
        self.opened = self.failed = 0
        self.open: collections.deque[socket.socket] = collections.deque()

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            sock = socket.socket()
            try:
                sock.connect(("127.0.0.1", self.port))
            except OSError:
                sock.close()
                self.failed += 1
                time.sleep(0.01)
                continue
            self.opened += 1
            self.open.append(sock)
            while len(self.open) > self.held:
                self.open.popleft().close()
        for sock in self.open:
            sock.close()


def taken(port: int) -> bool:
    """Whether binding ``port`` (as PostgreSQL does, with SO_REUSEADDR) fails now."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def port_zero() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def probe(count: int, delay: float) -> None:
    """Choose ``count`` ports each way, wait ``delay`` s (the old session fixture ran initdb,
    seconds, between choosing and binding), then count those taken."""
    from supplybrain_pipelines.devstack.embedded import free_port

    for name, choose in (("bind port 0, close (before)", port_zero),
                         ("free_port() below the ephemeral range", free_port)):
        ports = [choose() for _ in range(count)]
        time.sleep(delay)
        lost = sum(taken(port) for port in ports)
        print(f"probe: {name}: {lost}/{count} ports taken {delay}s after the choice",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--held", type=int, default=5000)
    parser.add_argument("--probe", type=int, default=0)
    parser.add_argument("--probe-delay", type=float, default=3.0)
    args = parser.parse_args()
    low, high = (int(x) for x in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text()
                 .split())
    server, port = listener()
    stop = threading.Event()
    churn = Churn(port, args.held)
    threads = [threading.Thread(target=accept_forever, args=(server, stop)),
               threading.Thread(target=churn.run, args=(stop,))]
    for thread in threads:
        thread.start()
    print(f"churning loopback connections to 127.0.0.1:{port}, holding {args.held}; "
          f"ephemeral range {low}-{high}", flush=True)
    started = time.monotonic()
    try:
        time.sleep(3)
        if args.probe:
            probe(args.probe, args.probe_delay)
        while time.monotonic() - started < args.seconds:
            time.sleep(10)
            elapsed = time.monotonic() - started
            print(f"{elapsed:6.0f}s: {churn.opened} connections opened "
                  f"({churn.opened / elapsed:.0f}/s), {len(churn.open)} held, "
                  f"{churn.failed} connects failed", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        server.close()
        elapsed = time.monotonic() - started
        print(f"done: {churn.opened} connections in {elapsed:.0f}s "
              f"({churn.opened / elapsed:.0f}/s)", flush=True)


if __name__ == "__main__":
    main()
