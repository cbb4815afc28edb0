"""Test session fixtures: a real PostgreSQL for every test that touches SQL.

With ``SUPPLYBRAIN_DATABASE_URL`` set, tests create throw-away databases on that server (the role
needs CREATEDB). Otherwise the session starts an embedded PostgreSQL in a temporary folder on a
free loopback port and stops it (by its PID file, through pg_ctl) when the session ends.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import URL

from supplybrain_pipelines.config import database_url_from_env
from supplybrain_pipelines.devstack.embedded import (
    EmbeddedPostgres,
    ensure_database,
    free_port,
    libpq_params,
)


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[URL]:
    """URL of the PostgreSQL server's maintenance database (``postgres``)."""
    external = database_url_from_env()
    if external is not None:
        yield external.set(database="postgres")
        return
    root = Path(tempfile.mkdtemp(prefix="supplybrain-test-pg-"))
    server = EmbeddedPostgres(root / "data", free_port(), fast_unsafe=True)
    server.start()
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
def empty_db_url(make_database) -> URL:
    """An empty database of its own for this test."""
    return make_database()
