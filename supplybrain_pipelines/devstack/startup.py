"""Start-up failures of ``supplybrain dev`` as one sentence each, with what to do about them.

``supplybrain dev`` prints the sentence (no traceback) and exits with status 1 when:

* the database of ``SUPPLYBRAIN_DATABASE_URL`` cannot be reached (or refuses the login);
* the embedded server's port, the sandbox's port or the UI's port is taken by another program
  (the sentence names the port and the setting that chooses another);
* the state folder (``SUPPLYBRAIN_STATE_DIR``, default ``.local/``) cannot be written;
* the embedded server does not start for another reason (the sentence quotes its log's FATAL
  line and names the log file).

Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno
import socket
from pathlib import Path

import psycopg
import sqlalchemy.exc
from sqlalchemy.engine import URL

from supplybrain_pipelines.config import (
    DATABASE_URL_ENV,
    EMBEDDED_PORT_ENV,
    STATE_DIR_ENV,
    redact,
)
from supplybrain_pipelines.devstack.embedded import PortTaken, StartFailed


class StartupError(Exception):
    """A start-up failure whose message is the one sentence to print."""


def port_taken(port: int, host: str, what: str, how: str) -> StartupError:
    return StartupError(f"port {port} on {host} is already in use by another program, so {what} "
                        f"cannot listen there; stop that program or choose another port with "
                        f"{how}.")


def check_port_free(host: str, port: int, what: str, how: str) -> None:
    """Raise :class:`StartupError` when something already listens on ``host:port``."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise port_taken(port, host, what, how) from None
            raise


def first_line(message: str) -> str:
    """The first non-empty line of a driver message, without psycopg's "connection failed: "."""
    line = next((part.strip() for part in str(message).splitlines() if part.strip()), "")
    return line.removeprefix("connection failed: ")


def explain(exc: BaseException, database_url: URL | None, embedded: bool,
            state_dir: Path) -> str | None:
    """The sentence for a known start-up failure, or None for anything else (a bug)."""
    if isinstance(exc, StartupError):
        return str(exc)
    if isinstance(exc, PortTaken):
        return str(port_taken(exc.port, "127.0.0.1", "the embedded PostgreSQL",
                              f"{EMBEDDED_PORT_ENV}=<port>"))
    if isinstance(exc, StartFailed):
        return (f"the embedded PostgreSQL did not start ({exc.reason}); its log is "
                f"{state_dir / 'pgdata' / 'server.log'}.")
    if isinstance(exc, sqlalchemy.exc.OperationalError):
        exc = exc.orig or exc
    if isinstance(exc, psycopg.OperationalError) and database_url is not None:
        fix = ("is the embedded server still running?" if embedded else
               f"check {DATABASE_URL_ENV}, or unset it to use the embedded server.")
        return (f"cannot connect to PostgreSQL at {redact(database_url)} "
                f"({first_line(str(exc))}); {fix}")
    if isinstance(exc, OSError) and _within(exc.filename, state_dir):
        return (f"cannot write the local state folder: {exc.strerror or exc} "
                f"({exc.filename}); set {STATE_DIR_ENV} to a writable folder.")
    return None


def _within(filename, folder: Path) -> bool:
    """True when ``filename`` is ``folder``, inside it, or one of its parents."""
    if filename is None:
        return False
    path, folder = Path(filename).absolute(), folder.absolute()
    return path == folder or folder in path.parents or path in folder.parents
