"""`supplybrain dev` start-up failures: one sentence on stderr, no traceback, exit status 1,
through the real command in a subprocess."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from supplybrain_pipelines.devstack.embedded import free_port
from supplybrain_pipelines_tests.fixtures_db import SUPPLYBRAIN, cli_env


def run_dev(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SUPPLYBRAIN), "dev", *args], env=env, capture_output=True,
                          text=True, timeout=180)


def the_sentence(result: subprocess.CompletedProcess) -> str:
    """The one line of stderr, checked to be the only one and free of tracebacks."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def listener() -> Iterator[int]:
    """A port another program listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.fixture
def state_dir() -> Iterator[Path]:
    # Not under tmp_path: pytest keeps its base folder 0700, which the server's user can't enter.
    state = Path(tempfile.mkdtemp(prefix="supplybrain-dev-state-"))
    yield state
    shutil.rmtree(state, ignore_errors=True)


def test_unreachable_database_url_is_one_sentence_without_the_password():
    port = free_port()  # nothing listens there
    env = cli_env(f"postgresql://postgres:s3cret-pw@127.0.0.1:{port}/supplybrain")
    sentence = the_sentence(run_dev(env))
    assert sentence == (
        f"supplybrain dev: cannot connect to PostgreSQL at "
        f"postgresql+psycopg://postgres:***@127.0.0.1:{port}/supplybrain "
        f'(connection to server at "127.0.0.1", port {port} failed: Connection refused); '
        f"check SUPPLYBRAIN_DATABASE_URL, or unset it to use the embedded server.")


def test_embedded_port_taken_names_the_port_and_the_setting(listener, state_dir):
    env = cli_env(None, SUPPLYBRAIN_STATE_DIR=str(state_dir),
                  SUPPLYBRAIN_EMBEDDED_PG_PORT=str(listener))
    sentence = the_sentence(run_dev(env, "--port", str(free_port())))
    assert sentence == (
        f"supplybrain dev: port {listener} on 127.0.0.1 is already in use by another program, "
        f"so the embedded PostgreSQL cannot listen there; stop that program or choose another "
        f"port with SUPPLYBRAIN_EMBEDDED_PG_PORT=<port>.")


def test_ui_port_taken_is_found_before_anything_starts(listener, state_dir):
    env = cli_env(None, SUPPLYBRAIN_STATE_DIR=str(state_dir))
    sentence = the_sentence(run_dev(env, "--port", str(listener)))
    assert sentence == (
        f"supplybrain dev: port {listener} on 127.0.0.1 is already in use by another program, "
        f"so the Dagster UI cannot listen there; stop that program or choose another port with "
        f"./scripts/dev --port <port>.")
    assert list(state_dir.iterdir()) == []  # no server was started


def test_state_dir_that_cannot_be_written_is_one_sentence(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    env = cli_env(None, SUPPLYBRAIN_STATE_DIR=str(blocker / "state"),
                  SUPPLYBRAIN_EMBEDDED_PG_PORT=str(free_port()))
    sentence = the_sentence(run_dev(env, "--port", str(free_port())))
    assert sentence == (
        f"supplybrain dev: cannot write the local state folder: Not a directory "
        f"({blocker / 'state' / 'pgdata'}); set SUPPLYBRAIN_STATE_DIR to a writable folder.")


def test_a_port_setting_that_is_not_a_number_is_one_sentence(state_dir):
    env = cli_env(None, SUPPLYBRAIN_STATE_DIR=str(state_dir), SUPPLYBRAIN_EMBEDDED_PG_PORT="pg")
    sentence = the_sentence(run_dev(env))
    assert sentence == (
        "supplybrain dev: a setting is not valid (invalid literal for int() with base 10: "
        "'pg'); check SUPPLYBRAIN_DATABASE_URL, SUPPLYBRAIN_EMBEDDED_PG_PORT and "
        "SUPPLYBRAIN_SANDBOX_PORT.")
