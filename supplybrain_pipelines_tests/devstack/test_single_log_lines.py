"""After dagster-postgres's connection retry warns through the root logger, Dagster's lines stay
single in the processes we start (the PYTHONPATH of ``dagster_env``); without it they double
(the control: upstream dagster-io/dagster#23732)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy.engine import URL

from supplybrain_pipelines.devstack.environment import dagster_env

# What the daemon does: Dagster's logging set-up, a line, the retry warning of
# dagster_postgres.utils.retry_pg_connection_fn (logging.warning), another line.
DAEMON_LIKE = """
import logging
from dagster._utils.log import configure_loggers
configure_loggers()
log = logging.getLogger("dagster.daemon.SensorDaemon")
log.info("line before the outage")
logging.warning("Retrying failed database connection: refused")
log.info("line after the outage")
"""


def run(env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-c", DAEMON_LIKE], env=env, capture_output=True,
                          text=True, timeout=60, check=True)
    return done.stdout + done.stderr


def test_dagster_lines_stay_single_after_a_retry_warning(tmp_path: Path):
    env = dagster_env(URL.create("postgresql+psycopg", host="127.0.0.1", database="x"),
                      tmp_path)
    output = run(env)
    assert output.count("line before the outage") == 1
    assert output.count("line after the outage") == 1
    assert output.count("Retrying failed database connection: refused") == 1
    assert " - root - WARNING - Retrying failed database connection: refused" in output


def test_control_without_our_startup_the_lines_double(tmp_path: Path):
    env = dagster_env(URL.create("postgresql+psycopg", host="127.0.0.1", database="x"),
                      tmp_path)
    env["PYTHONPATH"] = ""
    output = run(env)
    assert output.count("line before the outage") == 1
    assert output.count("line after the outage") == 2
