"""Test session fixtures: a real PostgreSQL for every test that touches SQL.

With ``SUPPLYBRAIN_DATABASE_URL`` set, tests create throw-away databases on that server (the role
needs CREATEDB). Otherwise the session starts an embedded PostgreSQL in a temporary folder on a
free loopback port below the ephemeral range (another one if that turns out taken) and stops it
(by its PID file, through pg_ctl) when the session ends.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import URL

from supplybrain_pipelines.config import (
    TOKEN_KEY_ENV,
    TOKEN_KEY_FILE_ENV,
    dagster_storage_env,
    database_url_from_env,
)
from supplybrain_pipelines.db.migrate import upgrade
from supplybrain_pipelines.devstack.embedded import (
    ensure_database,
    libpq_params,
    start_on_free_port,
)
from supplybrain_pipelines.devstack.environment import INSTANCE_CONFIG

#: The token key of the whole test session (a fixed test key, never a real one), set before any
#: test runs so that the Dagster processes the tests start inherit it (token_crypto.py).
TEST_TOKEN_KEY = "sjk8agHpG0wYT7TtbHV57ioOW5b41p5C-UvZeb0Iybw="
os.environ[TOKEN_KEY_ENV] = TEST_TOKEN_KEY
os.environ.pop(TOKEN_KEY_FILE_ENV, None)


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[URL]:
    """URL of the PostgreSQL server's maintenance database (``postgres``)."""
    external = database_url_from_env()
    if external is not None:
        yield external.set(database="postgres")
        return
    root = Path(tempfile.mkdtemp(prefix="supplybrain-test-pg-"))
    server = start_on_free_port(root / "data", fast_unsafe=True)
    try:
        yield server.url()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def _drop_database(server_url: URL, name: str) -> None:
    with psycopg.connect(**libpq_params(server_url), autocommit=True) as conn:
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        conn.execute(drop.format(sql.Identifier(name)))


@pytest.fixture
def make_database(pg_server_url: URL) -> Iterator:
    """Factory: ``make_database()`` creates an empty database and returns its URL; all are
    dropped after the test."""
    created: list[str] = []

    def _make() -> URL:
        name = f"sb_test_{uuid.uuid4().hex[:12]}"
        ensure_database(pg_server_url, name)
        created.append(name)
        return pg_server_url.set(database=name)

    yield _make
    for name in created:
        _drop_database(pg_server_url, name)


@pytest.fixture
def migrated_db_url(make_database) -> URL:
    """A fresh database of its own, migrated to head (with the seed alert rules)."""
    url = make_database()
    upgrade(url)
    return url


@pytest.fixture
def empty_db_url(make_database) -> URL:
    """An empty database of its own for this test."""
    return make_database()


def write_instance_config(home: Path, max_concurrent_runs: int = 1) -> Path:
    """A DAGSTER_HOME whose dagster.yaml is the project's, with only the run limit changed if
    asked (the run-queue test's control case)."""
    text = INSTANCE_CONFIG.read_text()
    if max_concurrent_runs != 1:
        assert text.count("max_concurrent_runs: 1\n") == 1
        text = text.replace("max_concurrent_runs: 1\n",
                            f"max_concurrent_runs: {max_concurrent_runs}\n")
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(text)
    return home


@pytest.fixture
def dagster_storage_url(make_database, monkeypatch) -> URL:
    """A database for Dagster's storage, exported as the DAGSTER_PG_* variables dagster.yaml
    reads."""
    url = make_database()
    for key, value in dagster_storage_env(url, url.database).items():
        monkeypatch.setenv(key, value)
    return url


@pytest.fixture
def dagster_instance(dagster_storage_url, tmp_path) -> Iterator[dg.DagsterInstance]:
    """A real Dagster instance: the project's dagster.yaml on a PostgreSQL database."""
    instance = dg.DagsterInstance.from_config(str(write_instance_config(tmp_path / "home")))
    yield instance
    instance.dispose()
