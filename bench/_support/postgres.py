"""The embedded PostgreSQL every bench script runs on.

A server with durable settings (fsync and ``synchronous_commit`` on) in a temporary folder on a
free loopback port, started and stopped around the run; migrated databases on it; and plain
psycopg connections from the SQLAlchemy URLs the project uses. psycopg, SQLAlchemy and the
project are imported when called, not when this module is imported.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg
    from sqlalchemy.engine import URL

    from supplybrain_pipelines.devstack.embedded import EmbeddedPostgres


@contextmanager
def embedded_server(prefix: str) -> Iterator[tuple[EmbeddedPostgres, Path]]:
    """Start a durable embedded server in a new temporary folder named ``prefix…``; yield it
    and the folder. On exit the server is stopped and the folder removed. Sets a throw-away
    ``SUPPLYBRAIN_TOKEN_KEY`` unless one is set."""
    import os

    from supplybrain_pipelines.config import TOKEN_KEY_ENV
    from supplybrain_pipelines.devstack.embedded import EmbeddedPostgres, free_port
    from supplybrain_pipelines.token_crypto import generate_key

    # The accounts the benches register store their tokens encrypted: a throw-away key.
    os.environ.setdefault(TOKEN_KEY_ENV, generate_key())
    root = Path(tempfile.mkdtemp(prefix=prefix))
    server = EmbeddedPostgres(root / "data", free_port(), fast_unsafe=False)
    try:
        server.start()
        yield server, root
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def migrated_database(server: EmbeddedPostgres, name: str) -> URL:
    """Create database ``name`` on ``server`` unless it exists, run the migrations; its URL."""
    from supplybrain_pipelines.db.migrate import upgrade

    server.ensure_database(name)
    url = server.url(name)
    upgrade(url)
    return url


def connect(url: URL | str, **kwargs: Any) -> psycopg.Connection:
    """A psycopg connection to the database of a SQLAlchemy URL (or its rendered text)."""
    import psycopg
    from sqlalchemy.engine import make_url

    from supplybrain_pipelines.devstack.embedded import libpq_params

    return psycopg.connect(**libpq_params(make_url(url)), **kwargs)
