"""After a PostgreSQL restart the first request to the webserver, a launch, succeeds and its run
is executed; the same stack with Dagster's default pool recycle (an hour) answers that request
with HTTP 500 (the control case, which shows the test can fail).

Real processes (code server, daemon, webserver from ``run_queue/stack.py``) on a PostgreSQL server
of the test's own, which the test stops and starts again.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from supplybrain_pipelines.devstack.embedded import (
    EmbeddedPostgres,
    ensure_database,
    start_on_free_port,
)
from supplybrain_pipelines.devstack.environment import WEBSERVER_POOL_RECYCLE_ENV
from supplybrain_pipelines_tests.conftest import write_instance_config
from supplybrain_pipelines_tests.run_queue.stack import LOCATION, dagster_stack

HARNESS = Path(__file__).parents[1] / "run_queue" / "harness_definitions.py"
RUNS_QUERY = "{ runsOrError { ... on Runs { results { runId status } } } }"
LAUNCH = """
mutation($params: ExecutionParams!) {
  launchRunOrError: launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
  }
}"""


def graphql(port: int, query: str, variables: dict | None = None) -> tuple[int, dict | str]:
    """(HTTP status, body) of one GraphQL request; never raises on an HTTP error status."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")[:300]


def launch_params() -> dict:
    return {"selector": {"repositoryLocationName": LOCATION, "repositoryName": "__repository__",
                         "jobName": "hold_slot"},
            "runConfigData": {"ops": {"hold_the_slot": {"config": {"seconds": 0.1}}}}}


@pytest.fixture
def own_server() -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL server of this test's own (the session's must not be restarted)."""
    root = Path(tempfile.mkdtemp(prefix="supplybrain-test-restart-"))
    server = start_on_free_port(root / "data", fast_unsafe=True)
    try:
        ensure_database(server.url(), "dagster")
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def restart(server: EmbeddedPostgres) -> None:
    """Stop, stay down for a few seconds (the daemon's connection retries warn), start."""
    server.stop()
    time.sleep(4)
    server.start()


def first_launch_after_restart(server: EmbeddedPostgres, home: Path, monkeypatch):
    """Warm the webserver's pool, restart PostgreSQL, launch: (status, body, final run status)."""
    with dagster_stack(server.url("dagster"), home, HARNESS) as stack:
        for key, value in stack.env.items():
            if key.startswith("DAGSTER_PG_"):
                monkeypatch.setenv(key, value)
        port = stack.webserver_port
        assert graphql(port, RUNS_QUERY) == (200, {"data": {"runsOrError": {"results": []}}})
        restart(server)
        status, body = graphql(port, LAUNCH, {"params": launch_params()})
        if status != 200:
            return status, body, None
        run_id = body["data"]["launchRunOrError"]["run"]["runId"]
        instance = dg.DagsterInstance.from_config(str(home))
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                run = instance.get_run_by_id(run_id)
                if run is not None and run.is_finished:
                    return status, body, run.status
                time.sleep(0.5)
            return status, body, instance.get_run_by_id(run_id).status
        finally:
            instance.dispose()


@pytest.mark.slow
def test_the_first_launch_after_a_postgres_restart_succeeds(own_server, tmp_path, monkeypatch):
    monkeypatch.delenv(WEBSERVER_POOL_RECYCLE_ENV, raising=False)  # the project's setting
    home = write_instance_config(tmp_path / "home")
    status, body, run_status = first_launch_after_restart(own_server, home, monkeypatch)
    assert status == 200, body
    assert body["data"]["launchRunOrError"]["__typename"] == "LaunchRunSuccess"
    assert run_status == dg.DagsterRunStatus.SUCCESS
    # no line doubled by the root handler that basicConfig would add (test_single_log_lines.py)
    daemon_log = (home / "logs" / "daemon.log").read_text()
    assert "INFO:dagster" not in daemon_log


@pytest.mark.slow
def test_control_dagsters_default_pool_fails_the_first_request(own_server, tmp_path,
                                                               monkeypatch):
    monkeypatch.setenv(WEBSERVER_POOL_RECYCLE_ENV, "3600")  # dagster-webserver's default
    home = write_instance_config(tmp_path / "home")
    status, body, _ = first_launch_after_restart(own_server, home, monkeypatch)
    assert status == 500
    assert "server closed the connection unexpectedly" in body
