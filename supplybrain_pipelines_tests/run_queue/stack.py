"""Real Dagster processes for tests: a gRPC code server, the daemon and the webserver, on a
PostgreSQL-backed DAGSTER_HOME built from the project's dagster.yaml.

Everything listens on 127.0.0.1 (ports below the ephemeral range; a server whose port was taken
before it bound it is started again on another) and is stopped by PID when the context exits.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy.engine import URL

from supplybrain_pipelines.devstack.dev import stop_process_tree
from supplybrain_pipelines.devstack.embedded import free_port
from supplybrain_pipelines.devstack.environment import dagster_env

BIN = Path(sys.executable).parent
LOCATION = "harness"


@dataclass
class DagsterStack:
    home: Path
    env: dict[str, str]
    webserver_port: int
    logs: Path


#: Ports a server is started on before the stack gives up (another listener may take a port
#: between free_port's choice and the server's bind).
PORT_ATTEMPTS = 3


class ExitedEarly(RuntimeError):
    """The server process exited before it was ready (e.g. its port was taken)."""


def _wait_until(predicate, timeout: float, what: str, log: Path | None = None,
                proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise ExitedEarly(f"{what} exited with {proc.returncode} before it was ready\n{tail}")
        time.sleep(0.3)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise TimeoutError(f"{what} not ready after {timeout:.0f}s\n{tail}")


def _grpc_healthy(port: int, env: dict[str, str]) -> bool:
    check = subprocess.run([str(BIN / "dagster"), "api", "grpc-health-check", "-h", "127.0.0.1",
                            "-p", str(port)], env=env, capture_output=True)
    return check.returncode == 0


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextmanager
def dagster_stack(storage_url: URL, home: Path, definitions_file: Path, *,
                  attribute: str | None = None,
                  app_url: URL | None = None) -> Iterator[DagsterStack]:
    """Start code server, daemon and webserver for ``definitions_file``; stop them on exit.

    ``home`` must already hold dagster.yaml; Dagster's storage is ``storage_url``'s database.
    ``attribute`` names the Definitions (or a function returning them) in the file when it is
    not the only one; ``app_url`` is the application database the code location reads
    (default: the storage database; it must be on the same server).
    """
    env = dagster_env(app_url or storage_url, home, dagster_db=storage_url.database)
    logs = home / "logs"
    logs.mkdir(exist_ok=True)
    workspace = home / "workspace.yaml"

    with ExitStack() as stack:
        def start(name: str, *cmd: str) -> subprocess.Popen:
            log = (logs / f"{name}.log").open("w")
            stack.callback(log.close)
            proc = subprocess.Popen([str(BIN / cmd[0]), *cmd[1:]], env=env, cwd=home,
                                    stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            stack.callback(stop_process_tree, proc, 20)
            return proc

        def listening(name: str, command, ready) -> int:
            """Start ``command(port)`` on a free port until ``ready(port)``; another port when
            the process exits first (its port was taken), up to PORT_ATTEMPTS."""
            for attempt in range(1, PORT_ATTEMPTS + 1):
                port = free_port()
                proc = start(name, *command(port))
                try:
                    _wait_until(lambda port=port: ready(port), 60, name, logs / f"{name}.log",
                                proc)
                except ExitedEarly:
                    if attempt == PORT_ATTEMPTS:
                        raise
                    continue
                return port
            raise AssertionError("unreachable")

        target = ["-f", str(definitions_file), *(["-a", attribute] if attribute else [])]
        grpc_port = listening(
            "code_server",
            lambda port: ("dagster", "api", "grpc", "-h", "127.0.0.1", "-p", str(port), *target),
            lambda port: _grpc_healthy(port, env))
        workspace.write_text(yaml.safe_dump({"load_from": [{"grpc_server": {
            "host": "127.0.0.1", "port": grpc_port, "location_name": LOCATION}}]}))
        start("daemon", "dagster-daemon", "run", "-w", str(workspace))
        web_port = listening(
            "webserver",
            lambda port: ("dagster-webserver", "-h", "127.0.0.1", "-p", str(port),
                          "-w", str(workspace)),
            lambda port: _http_ok(f"http://127.0.0.1:{port}/server_info"))
        yield DagsterStack(home=home, env=env, webserver_port=web_port, logs=logs)
