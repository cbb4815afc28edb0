"""Shared helpers for tests on a migrated application database.

The ``migrated_db_url`` fixture itself lives in ``conftest.py``; these are plain functions.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import psycopg
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from supplybrain_pipelines.config import DATABASE_URL_ENV, TOKEN_KEY_ENV
from supplybrain_pipelines.devstack.embedded import libpq_params

#: The console script that ``uv sync`` installs beside the interpreter.
SUPPLYBRAIN = Path(sys.executable).parent / "supplybrain"


def url_text(url: URL) -> str:
    """The URL as a string with the password in it (as an operator would set it)."""
    return url.render_as_string(hide_password=False)


def engine(url: URL) -> sa.Engine:
    return sa.create_engine(url, poolclass=NullPool)


def fetch_all(url: URL, query: str, **params) -> list[tuple]:
    eng = engine(url)
    try:
        with eng.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(query), params)]
    finally:
        eng.dispose()


def execute(url: URL, statement: str, **params) -> None:
    eng = engine(url)
    try:
        with eng.begin() as conn:
            conn.execute(sa.text(statement), params)
    finally:
        eng.dispose()


def database_exists(server_url: URL, name: str) -> bool:
    with psycopg.connect(**libpq_params(server_url), autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        return found.fetchone() is not None


def drop_database(server_url: URL, name: str) -> None:
    with psycopg.connect(**libpq_params(server_url), autocommit=True) as conn:
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        conn.execute(drop.format(sql.Identifier(name)))


def cli_env(database_url: URL | str | None, **extra: str) -> dict[str, str]:
    """The environment of a ``supplybrain`` subprocess: ours without any project setting but
    the session's token key (conftest), then ``SUPPLYBRAIN_DATABASE_URL`` and ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SUPPLYBRAIN_", "DAGSTER_")) or k == TOKEN_KEY_ENV}
    if database_url is not None:
        env[DATABASE_URL_ENV] = url_text(database_url) if isinstance(database_url, URL) \
            else database_url
    env.update(extra)
    return env
