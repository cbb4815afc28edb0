"""Bring the application database to the newest schema: wait for PostgreSQL, then Alembic.

The Alembic scripts ship inside the package (``db/migrations``); there is no alembic.ini, the
configuration is built here. ``upgrade`` is safe to call from several processes at once: a
PostgreSQL advisory lock lets one of them migrate while the others wait and then find the
database at head.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from psycopg.sql import SQL, Composed, Identifier, Literal
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool
from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_delay,
    wait_exponential,
)

from supplybrain_pipelines.config import (
    APP_SCHEMA,
    DATABASE_URL_ENV,
    normalize_database_url,
    redact,
)

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: Key of the session advisory lock held while migrating (an arbitrary constant of this project).
MIGRATION_LOCK_KEY = 0x5B_4D16_0001
_BACKOFF_FIRST_S = 0.2
_BACKOFF_MAX_S = 2.0
_CONNECT_TIMEOUT_MAX_S = 5
#: Connection errors that waiting does not cure: the server answered and said no.
_PERMANENT_ERRORS = ("authentication failed", "does not exist", "no pg_hba.conf entry")


class DatabaseUnavailable(RuntimeError):
    """PostgreSQL could not be reached; the message is one sentence with the redacted URL."""

    def __init__(self, url: URL | str, waited_s: float, reason: str) -> None:
        self.url = redact(url)
        self.waited_s = waited_s
        self.reason = reason
        if _is_permanent(reason):
            fix = (f"check the user, password and database name in {DATABASE_URL_ENV} "
                   "or create the database")
        else:
            fix = f"start PostgreSQL or set {DATABASE_URL_ENV} to a server that is running"
        waited = f" within {waited_s:.1f} s" if waited_s >= 0.05 else ""
        super().__init__(
            f"Could not connect to PostgreSQL at {self.url}{waited} ({reason}); {fix}."
        )


def _is_permanent(reason: str) -> bool:
    return any(marker in reason for marker in _PERMANENT_ERRORS)


def _as_url(url: URL | str) -> URL:
    text = url.render_as_string(hide_password=False) if isinstance(url, URL) else url
    return normalize_database_url(text)


def _engine(url: URL | str, connect_timeout_s: float = _CONNECT_TIMEOUT_MAX_S) -> Engine:
    # libpq rounds connect_timeout down to whole seconds and treats 1 as 2.
    timeout = max(2, min(_CONNECT_TIMEOUT_MAX_S, math.ceil(connect_timeout_s)))
    return sa.create_engine(
        _as_url(url), poolclass=NullPool, connect_args={"connect_timeout": timeout}
    )


def _reason(exc: BaseException) -> str:
    """The first line of the driver's message, e.g. '... port 5432 failed: Connection refused'."""
    original = getattr(exc, "orig", None) or exc
    lines = [" ".join(line.split()) for line in str(original).splitlines() if line.strip()]
    return (lines[0] if lines else type(original).__name__).rstrip(".")


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) and not _is_permanent(_reason(exc))


def wait_for_database(url: URL | str, timeout_s: float = 30.0) -> None:
    """Return once PostgreSQL at ``url`` accepts a connection and answers ``SELECT 1``.

    Retries connection errors with exponential backoff (0.2 s doubling up to 2 s) for at most
    ``timeout_s`` seconds (plus one connect timeout of at most 5 s); raises DatabaseUnavailable.
    Errors that retrying cannot fix (bad password, missing database) fail at once.
    """
    engine = _engine(url, timeout_s)
    started = time.monotonic()
    backoff = wait_exponential(multiplier=_BACKOFF_FIRST_S, min=_BACKOFF_FIRST_S,
                               max=_BACKOFF_MAX_S)

    def wait_at_most_until_the_deadline(retry_state: RetryCallState) -> float:
        remaining = timeout_s - (time.monotonic() - started)
        return max(0.0, min(backoff(retry_state), remaining))

    retrying = Retrying(
        retry=retry_if_exception(_retryable),
        wait=wait_at_most_until_the_deadline,
        stop=stop_after_delay(timeout_s),
        reraise=False,
    )
    try:
        for attempt in retrying:
            with attempt, engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
    except RetryError as exc:
        last = exc.last_attempt.exception()
        raise DatabaseUnavailable(url, time.monotonic() - started, _reason(last)) from None
    except OperationalError as exc:
        raise DatabaseUnavailable(url, time.monotonic() - started, _reason(exc)) from None
    finally:
        engine.dispose()


def alembic_config() -> Config:
    """The Alembic configuration of the packaged migrations (no alembic.ini, no log setup)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    return config


def all_revisions() -> list[str]:
    """Every shipped revision, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def head_revision() -> str:
    """The newest revision shipped with this package."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"No Alembic revisions in {MIGRATIONS_DIR}; reinstall the package.")
    return head


def current_revision(url: URL | str) -> str | None:
    """The revision the database at ``url`` is at, or None before the first upgrade."""
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"version_table_schema": APP_SCHEMA}
            )
            return context.get_current_revision()
    except OperationalError as exc:
        raise DatabaseUnavailable(url, 0.0, _reason(exc)) from None
    finally:
        engine.dispose()


def upgrade(url: URL | str, *, timeout_s: float = 30.0) -> list[str]:
    """Wait for the database, then ``alembic upgrade head``.

    Returns the revisions applied, oldest first; an empty list when the database was at head.
    Then :func:`sync_comments` makes the PostgreSQL comments equal to the declared descriptions
    (also when no revision was pending). The pending revisions and the comments run in one
    transaction: a failure leaves the database as it was.
    """
    wait_for_database(url, timeout_s)
    engine = _engine(url)
    applied: list[str] = []
    try:
        try:
            connection = engine.connect()
        except OperationalError as exc:  # the server went away right after answering
            raise DatabaseUnavailable(url, 0.0, _reason(exc)) from None
        with connection:
            connection.execute(sa.select(sa.func.pg_advisory_lock(MIGRATION_LOCK_KEY)))
            connection.commit()
            try:
                config = alembic_config()
                config.attributes["connection"] = connection
                config.attributes["applied_revisions"] = applied
                with connection.begin():  # Alembic joins it: revisions and comments commit as one
                    command.upgrade(config, "head")
                    sync_comments(connection)
            finally:
                connection.rollback()  # ends a failed transaction so that the unlock can run
                connection.execute(sa.select(sa.func.pg_advisory_unlock(MIGRATION_LOCK_KEY)))
                connection.commit()
    finally:
        engine.dispose()
    return applied


def _declared_relations() -> list[tuple[sa.Table, str]]:
    from supplybrain_pipelines.db.tables import metadata
    from supplybrain_pipelines.db.views import VIEWS

    return [(table, "TABLE") for table in metadata.sorted_tables] + \
        [(view, "VIEW") for view in VIEWS]


def _stored_comments(connection: sa.Connection) -> dict[tuple[str, str | None], str | None]:
    """``{(relation, None): its comment, (relation, column): the column's comment}`` of every
    table and view in the app schema, as PostgreSQL has them (None: no comment)."""
    rows = connection.execute(sa.text("""
        SELECT c.relname, NULL AS attname, obj_description(c.oid, 'pg_class')
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = :schema AND c.relkind IN ('r', 'v', 'p')
        UNION ALL
        SELECT c.relname, a.attname, col_description(c.oid, a.attnum)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE n.nspname = :schema AND c.relkind IN ('r', 'v', 'p')
    """), {"schema": APP_SCHEMA})
    return {(relation, column): comment for relation, column, comment in rows}


def comment_statements(connection: sa.Connection) -> list[Composed]:
    """The ``COMMENT ON`` statements that make the stored comments of every table and view in
    ``db/tables`` and ``db/views.py`` (and of each of their columns) equal to their declared
    ``comment=``; none for a comment already equal, or for a relation or column the database
    does not have (that is drift, which the migration tests catch). Names and texts are quoted
    by psycopg (a comment is a literal: COMMENT takes no parameters)."""
    stored = _stored_comments(connection)
    statements = []
    for relation, kind in _declared_relations():
        if (relation.name, None) not in stored:
            continue
        name = Identifier(APP_SCHEMA, relation.name)
        if stored[(relation.name, None)] != relation.comment:
            statements.append(SQL("COMMENT ON {} {} IS {}").format(
                SQL(kind), name, Literal(relation.comment)))
        for column in relation.columns:
            key = (relation.name, column.name)
            if key in stored and stored[key] != column.comment:
                statements.append(SQL("COMMENT ON COLUMN {} IS {}").format(
                    Identifier(APP_SCHEMA, relation.name, column.name), Literal(column.comment)))
    return statements


def sync_comments(connection: sa.Connection) -> int:
    """Write the declared descriptions as PostgreSQL comments (``\\d+`` in psql shows them) in
    the connection's transaction; idempotent. Returns how many comments changed."""
    statements = comment_statements(connection)
    if statements:
        with connection.connection.driver_connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        logger.info("set %d table, view and column comments", len(statements))
    return len(statements)
