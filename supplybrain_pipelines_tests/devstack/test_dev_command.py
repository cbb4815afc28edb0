"""`supplybrain dev` end to end: embedded PostgreSQL, migrations, the Dagster UI with the code
location loaded and storage in PostgreSQL; Ctrl-C stops every process it started; the data
survives a restart."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil
import psycopg
import pytest

from supplybrain_pipelines.config import DATABASE_URL_ENV
from supplybrain_pipelines.devstack.embedded import free_port
from supplybrain_pipelines.token_crypto import encrypt_token

BIN = Path(sys.executable).parent
LOCATION_QUERY = ("{ workspaceOrError { ... on Workspace { locationEntries "
                  "{ name loadStatus locationOrLoadError { __typename } } } } }")


def _location_status(port: int) -> list[tuple[str, str, str]] | None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": LOCATION_QUERY}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            entries = json.load(response)["data"]["workspaceOrError"]["locationEntries"]
    except (OSError, KeyError, TypeError, ValueError):
        return None
    return [(e["name"], e["loadStatus"], (e["locationOrLoadError"] or {}).get("__typename"))
            for e in entries]


def start_dev(state_dir: Path, pg_port: int, ui_port: int, log: Path, sandbox_port: int):
    env = {k: v for k, v in os.environ.items() if k != DATABASE_URL_ENV and
           not k.startswith("DAGSTER_")}
    env.update(SUPPLYBRAIN_STATE_DIR=str(state_dir), SUPPLYBRAIN_EMBEDDED_PG_PORT=str(pg_port),
               SUPPLYBRAIN_SANDBOX_PORT=str(sandbox_port))
    started = time.monotonic()
    proc = subprocess.Popen([str(BIN / "supplybrain"), "dev", "--port", str(ui_port)], env=env,
                            stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = started + 180
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-3000:]
        if _location_status(ui_port) == [("supplybrain_pipelines", "LOADED",
                                          "RepositoryLocation")]:
            return proc, time.monotonic() - started
        time.sleep(0.5)
    proc.kill()
    raise AssertionError("UI did not load the code location:\n" + log.read_text()[-3000:])


def stop_with_ctrl_c(proc: subprocess.Popen) -> list[psutil.Process]:
    """SIGINT to the whole foreground group, as a terminal's Ctrl-C; returns the processes that
    were running under it."""
    family = psutil.Process(proc.pid).children(recursive=True)
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(90) == 0
    return family


def alive(processes: list[psutil.Process]) -> list[str]:
    """The command lines of those still running (a zombie has exited; only its entry is left)."""
    running = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                running.append(" ".join(process.cmdline()[:4]))
        except psutil.NoSuchProcess:
            pass
    return running


@pytest.mark.slow
def test_dev_runs_the_embedded_default_and_ctrl_c_stops_everything(tmp_path):
    # Not under tmp_path: pytest keeps its base folder 0700, which the server's user can't enter.
    state = Path(tempfile.mkdtemp(prefix="supplybrain-dev-state-"))
    pg_port, ui_port = free_port(), free_port()
    try:
        cold, warm = _start_stop_twice(state, pg_port, ui_port, tmp_path)
    finally:
        shutil.rmtree(state, ignore_errors=True)
    print(f"supplybrain dev: UI ready {cold:.1f}s after start on a new data dir, "
          f"{warm:.1f}s on restart")


def _postmaster(state: Path) -> psutil.Process:
    return psutil.Process(int((state / "pgdata" / "postmaster.pid").read_text().split()[0]))


def _start_stop_twice(state: Path, pg_port: int, ui_port: int, tmp_path: Path):
    sandbox_port = free_port()
    proc, cold = start_dev(state, pg_port, ui_port, tmp_path / "dev1.log", sandbox_port)
    try:
        postmaster = _postmaster(state)
        conninfo = f"host=127.0.0.1 port={pg_port} user=postgres"
        with psycopg.connect(f"{conninfo} dbname=supplybrain") as conn:
            # the old backend's 9 seed rules and slot_busy_pct (migration 0016)
            assert conn.execute("SELECT count(*) FROM supplybrain.monitoring_alert_rules"
                                ).fetchone() == (10,)
            # no real account: the sandbox's accounts were registered, pointing at it
            urls = conn.execute("SELECT base_url FROM supplybrain.wb_integration_accounts"
                                ).fetchall()
            assert urls and all(u == (f"http://127.0.0.1:{sandbox_port}",) for u in urls)
        with psycopg.connect(f"{conninfo} dbname=dagster") as conn:
            daemons = conn.execute("SELECT count(*) FROM daemon_heartbeats").fetchone()[0]
            assert daemons > 0, "the daemon does not write its heartbeats to PostgreSQL"
            # the account sync sensor (RUNNING by default) queued one ingest run of every
            # sandbox account's sources, and the daemon ran it against the sandbox
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                runs = conn.execute("SELECT status FROM runs WHERE pipeline_name = 'ingest'"
                                    ).fetchall()
                if runs and all(r == ("SUCCESS",) for r in runs):
                    break
                assert not any(r == ("FAILURE",) for r in runs), runs
                time.sleep(1)
            else:
                raise AssertionError(f"the account sync run did not succeed: {runs}")
        with psycopg.connect(f"{conninfo} dbname=supplybrain") as conn:
            assert conn.execute("SELECT count(*) FROM supplybrain.wb_orders").fetchone()[0] > 0
            # inactive, so nothing ever calls the real WB host with it
            conn.execute("INSERT INTO supplybrain.wb_integration_accounts "
                         "(name, api_token_encrypted, is_active) VALUES ('persisted', %s, false)",
                         (encrypt_token("token-that-must-survive-restart"),))
    finally:
        family = stop_with_ctrl_c(proc)
    assert alive(family) == []
    assert alive([postmaster]) == []

    proc, warm = start_dev(state, pg_port, ui_port, tmp_path / "dev2.log", sandbox_port)
    try:
        postmaster = _postmaster(state)
        with psycopg.connect(f"{conninfo} dbname=supplybrain") as conn:
            names = conn.execute("SELECT name FROM supplybrain.wb_integration_accounts "
                                 "WHERE name = 'persisted'").fetchall()
        assert names == [("persisted",)]
        assert "schema is up to date" in (tmp_path / "dev2.log").read_text()
        # `dg dev`, not `dagster dev` (which says it is superseded by `dg dev`)
        assert "superseded" not in (tmp_path / "dev2.log").read_text()
    finally:
        family = stop_with_ctrl_c(proc)
    assert alive(family) == []
    assert alive([postmaster]) == []
    return cold, warm
