"""The one way CLI commands open a transaction on the application database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
import psycopg
from sqlalchemy import Connection, create_engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import NullPool

from supplybrain_pipelines.config import redact, resolve_database_url
from supplybrain_pipelines.db.migrate import DatabaseUnavailable


def first_line(exc: DBAPIError) -> str:
    lines = [line.strip() for line in str(exc.orig).splitlines() if line.strip()]
    return lines[0].rstrip(".") if lines else type(exc.orig).__name__


@contextmanager
def transaction() -> Iterator[Connection]:
    """A transaction on the application database. Database errors end as one line (exit 1)
    without the statement's parameters: an account INSERT's parameters hold the token."""
    url = resolve_database_url()
    engine = create_engine(url, poolclass=NullPool, hide_parameters=True)
    try:
        with engine.begin() as conn:
            yield conn
    except OperationalError as exc:
        raise DatabaseUnavailable(url, 0.0, first_line(exc)) from None
    except DBAPIError as exc:
        if isinstance(exc.orig, psycopg.errors.UndefinedTable):
            raise click.ClickException(f"{redact(url)} has no supplybrain tables yet; run "
                                       "`supplybrain db upgrade` first.") from None
        raise click.ClickException(f"The database refused it: {first_line(exc)}.") from None
    finally:
        engine.dispose()
