"""Ports of the local default and the test servers lie outside the ephemeral range, and a test
server whose port was taken between choosing and binding starts on another one."""

from __future__ import annotations

import shutil
import socket
import tempfile
from pathlib import Path

import psycopg

from supplybrain_pipelines.config import DEFAULT_EMBEDDED_PORT
from supplybrain_pipelines.devstack import embedded
from supplybrain_pipelines.devstack.embedded import (
    PORT_BAND,
    ephemeral_range,
    port_candidates,
    start_on_free_port,
)


def test_port_candidates_leave_out_the_ephemeral_range():
    assert port_candidates((15000, 15005), (15002, 60999)) == [15000, 15001]
    assert port_candidates((15000, 15002), (32768, 60999)) == [15000, 15001, 15002]
    assert port_candidates((40000, 40002), (32768, 60999)) == []


def test_ephemeral_range_is_read_from_the_kernel_file(tmp_path):
    kernel = tmp_path / "ip_local_port_range"
    kernel.write_text("10000\t20000\n")
    assert ephemeral_range(kernel) == (10000, 20000)
    assert ephemeral_range(tmp_path / "missing") == (32768, 60999)


def test_the_defaults_and_free_ports_are_below_the_ephemeral_range():
    low, _ = ephemeral_range()
    assert DEFAULT_EMBEDDED_PORT == 25432
    assert low > 25432
    ports = {embedded.free_port() for _ in range(20)}
    assert all(PORT_BAND[0] <= port <= PORT_BAND[1] and port < low for port in ports), ports


def test_a_server_whose_port_was_taken_starts_on_the_next_one(monkeypatch):
    """The first port is taken by another program after it was chosen (as an outgoing
    connection or another listener could): the session's server moves on instead of failing."""
    with socket.socket() as thief:
        thief.bind(("127.0.0.1", 0))
        thief.listen()
        taken = thief.getsockname()[1]
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            spare = probe.getsockname()[1]
        chosen = iter([taken, spare])
        monkeypatch.setattr(embedded, "free_port", lambda: next(chosen))
        root = Path(tempfile.mkdtemp(prefix="supplybrain-test-port-"))
        try:
            server = start_on_free_port(root / "data", fast_unsafe=True)
            try:
                assert server.port == spare
                with psycopg.connect(host="127.0.0.1", port=spare, user="postgres",
                                     dbname="postgres") as conn:
                    assert conn.execute("SELECT 1").fetchone() == (1,)
            finally:
                server.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)


def test_a_dagster_stack_whose_ports_were_taken_starts_on_others(make_database, tmp_path,
                                                                 monkeypatch):
    """The code server's and the webserver's first ports are taken: each starts again on the
    next port (run_queue/stack.py), and the webserver answers there."""
    from supplybrain_pipelines_tests.conftest import write_instance_config
    from supplybrain_pipelines_tests.run_queue import stack as stack_module
    from supplybrain_pipelines_tests.run_queue.stack import _http_ok, dagster_stack

    harness = Path(__file__).parents[1] / "run_queue" / "harness_definitions.py"
    with socket.socket() as grpc_thief, socket.socket() as web_thief:
        for thief in (grpc_thief, web_thief):
            thief.bind(("127.0.0.1", 0))
            thief.listen()
        taken = [grpc_thief.getsockname()[1], web_thief.getsockname()[1]]
        real_free_port = embedded.free_port
        chosen = iter([taken[0], real_free_port(), taken[1], real_free_port()])
        monkeypatch.setattr(stack_module, "free_port", lambda: next(chosen))
        home = write_instance_config(tmp_path / "home")
        with dagster_stack(make_database(), home, harness) as stack:
            assert stack.webserver_port not in taken
            assert _http_ok(f"http://127.0.0.1:{stack.webserver_port}/server_info")
            workspace = (home / "workspace.yaml").read_text()
            assert f"port: {taken[0]}" not in workspace
