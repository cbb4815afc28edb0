"""Real Dagster processes for tests: a gRPC code server, the daemon and the webserver, on a
PostgreSQL-backed DAGSTER_HOME built from the project's dagster.yaml.

Everything listens on 127.0.0.1 and is stopped by PID when the context exits.
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


def _wait_until(predicate, timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
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
    grpc_port, web_port = free_port(), free_port()
    workspace = home / "workspace.yaml"
    workspace.write_text(yaml.safe_dump({"load_from": [{"grpc_server": {
        "host": "127.0.0.1", "port": grpc_port, "location_name": LOCATION}}]}))

    with ExitStack() as stack:
        def start(name: str, *cmd: str) -> subprocess.Popen:
            log = (logs / f"{name}.log").open("w")
            stack.callback(log.close)
            proc = subprocess.Popen([str(BIN / cmd[0]), *cmd[1:]], env=env, cwd=home,
                                    stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            stack.callback(stop_process_tree, proc, 20)
            return proc

        target = ["-f", str(definitions_file), *(["-a", attribute] if attribute else [])]
        start("code_server", "dagster", "api", "grpc", "-h", "127.0.0.1", "-p", str(grpc_port),
              *target)
        _wait_until(lambda: _grpc_healthy(grpc_port, env), 60, "code server",
                    logs / "code_server.log")
        start("daemon", "dagster-daemon", "run", "-w", str(workspace))
        start("webserver", "dagster-webserver", "-h", "127.0.0.1", "-p", str(web_port),
              "-w", str(workspace))
        _wait_until(lambda: _http_ok(f"http://127.0.0.1:{web_port}/server_info"), 60,
                    "webserver", logs / "webserver.log")
        yield DagsterStack(home=home, env=env, webserver_port=web_port, logs=logs)
