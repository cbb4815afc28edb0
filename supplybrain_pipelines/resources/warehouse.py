"""The PostgreSQL warehouse resource: transactions and a bulk upsert for every asset.

Assets write their tables through :class:`PostgresWarehouse`: one transaction per table write
(``with warehouse.transaction() as conn``), and :meth:`PostgresWarehouse.bulk_upsert` for many
rows (COPY into a temporary table, then one ``INSERT … ON CONFLICT``; about 130k rows/s here
against about 80k for ``executemany``). Rows the caller knows to be new can skip the staging:
``bulk_upsert(…, new_rows=…)`` COPYs them straight into the table, about twice as fast again;
:class:`NewRowsCopy` does the same for rows that come in batches, in one COPY.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import dagster as dg
import psycopg
from psycopg import pq
from psycopg.adapt import Buffer, Dumper
from psycopg.postgres import types as pg_types
from pydantic import PrivateAttr
from sqlalchemy import Connection, Engine, Table, create_engine
from sqlalchemy.pool import NullPool

from supplybrain_pipelines.config import DATABASE_URL_ENV, normalize_database_url


@dataclass(frozen=True)
class UpsertResult:
    """What one bulk upsert did: rows new to the table, and existing rows that changed."""

    inserted: int
    updated: int

    @property
    def written(self) -> int:
        return self.inserted + self.updated


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def quoted_name(table: Table) -> str:
    """``"schema"."table"`` for SQL text."""
    return f"{_quote(table.schema)}.{_quote(table.name)}" if table.schema else _quote(table.name)


class _Encodings(dict):
    """Binary encodings by value, each made on first use by ``encode``; at most ``limit``
    (then it starts afresh)."""

    def __init__(self, encode: Callable[[Any], Buffer | None], limit: int) -> None:
        super().__init__()
        self._encode = encode
        self._limit = limit

    def __missing__(self, value: Any) -> Buffer | None:
        if len(self) >= self._limit:
            self.clear()
        data = self[value] = self._encode(value)
        return data


_NUMERIC = pg_types["numeric"].oid
#: The process's numeric encodings, shared by every COPY (a COPY of its own would encode each
#: price again: measured 0.2 us a row more with one per chunk of 10 000 rows). The encoding of
#: a value depends on nothing else; dict operations are atomic, so threads may share it.
_NUMERIC_ENCODINGS = _Encodings(
    psycopg.adapters.get_dumper_by_oid(_NUMERIC, pq.Format.BINARY)(Decimal).dump, 100_000)


class _ScaledNumericDumper(Dumper):
    """numeric for a binary COPY into columns of a declared scale (``numeric(p, s)``): each
    distinct value is encoded once and then looked up. Prices repeat, so this skips most of
    psycopg's Decimal encoding (about 0.7 us a value).

    The look-up is the dict's own (C): psycopg calls the ``dump`` found on the instance, which
    ``__init__`` sets to it, so no Python frame runs per value. It is keyed by value, which is
    exact only for a declared scale: ``Decimal("1.0") == Decimal("1.00")`` share an encoding,
    and PostgreSQL rescales both to the column's scale. :class:`NewRowsCopy` uses it only then."""

    format = pq.Format.BINARY
    oid = _NUMERIC

    def __init__(self, cls: type, context: Any = None) -> None:
        super().__init__(cls, context)
        self.dump = _NUMERIC_ENCODINGS.__getitem__  # type: ignore[method-assign]

    def dump(self, obj: Any) -> Buffer | None:  # shadowed per instance, see __init__
        return _NUMERIC_ENCODINGS[obj]


def _column_types(cur: psycopg.Cursor, target: str, columns: Sequence[str]
                  ) -> list[tuple[int, int]]:
    """``(type oid, typmod)`` of each of ``columns`` of ``target`` (typmod -1: none)."""
    cur.execute("SELECT attname, atttypid, atttypmod FROM pg_attribute "
                "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped", (target,))
    found = {name: (oid, typmod) for name, oid, typmod in cur.fetchall()}
    return [found[c] for c in columns]


def bulk_upsert(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    key_columns: Sequence[str],
    update_columns: Sequence[str] | None = None,
    *,
    new_rows: Collection[Sequence[Any]] = (),
) -> UpsertResult:
    """Insert ``rows`` into ``table``, updating rows whose ``key_columns`` already exist.

    ``rows`` are tuples in the order of ``columns``. A row whose values equal the stored ones is
    left alone (it counts neither as inserted nor as updated), so re-running a load is a no-op.
    ``update_columns`` defaults to every non-key column; pass ``[]`` to keep existing rows as
    they are (``ON CONFLICT DO NOTHING``). The caller owns the transaction: on error nothing
    of the batch is written.

    ``new_rows`` (same layout, distinct keys) are rows whose keys the caller has just found
    absent from the table. They are COPYed straight into it, under a savepoint: if one of them
    exists after all (another writer came first), the savepoint is rolled back and they take
    the upsert path with ``rows``. Either way the result is the same as passing them in
    ``rows``. That COPY is binary, so each value must have the Python type psycopg dumps for
    its column: str for text, int or Decimal for numeric, an aware datetime for timestamptz.
    """
    missing = [c for c in (*columns, *key_columns, *(update_columns or ())) if c not in table.c]
    if missing:
        raise ValueError(f"{table.fullname} has no column(s) {', '.join(missing)}")
    if update_columns is None:
        update_columns = [c for c in columns if c not in key_columns]
    not_loaded = [c for c in update_columns if c not in columns]
    if not_loaded:  # EXCLUDED.<c> would be NULL (or the default) and overwrite stored values
        raise ValueError(f"update_columns {', '.join(not_loaded)} are not among the loaded "
                         f"columns of {table.fullname}")
    target = quoted_name(table)
    staging = _quote(f"_stage_{table.name}")
    cols = ", ".join(_quote(c) for c in columns)

    raw = conn.connection.driver_connection  # psycopg 3 connection, inside our transaction
    inserted = 0
    if new_rows:
        with NewRowsCopy(conn, table, columns) as copying:
            copying.write(new_rows)
            copied = copying.close()
        if copied is None:  # a key exists after all: upsert them with the rest
            rows = [*new_rows, *rows]
        else:
            inserted = copied
            if isinstance(rows, Collection) and not rows:
                return UpsertResult(inserted=inserted, updated=0)
    with raw.cursor() as cur:
        # Only the loaded columns, their types and no constraints: the target checks them.
        cur.execute(f"CREATE TEMP TABLE {staging} ON COMMIT DROP AS "
                    f"SELECT {cols} FROM {target} WITH NO DATA")
        with cur.copy(f"COPY {staging} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        staged = upsert_from(cur, table, staging, columns, key_columns, update_columns)
        cur.execute(f"DROP TABLE {staging}")
    return UpsertResult(inserted=inserted + staged.inserted, updated=staged.updated)


def upsert_from(cur: psycopg.Cursor, table: Table, source: str, columns: Sequence[str],
                key_columns: Sequence[str], update_columns: Sequence[str]) -> UpsertResult:
    """The set-based half of :func:`bulk_upsert`: ``INSERT … SELECT columns FROM source …
    ON CONFLICT (key_columns)``, updating ``update_columns`` of a row only when they differ
    (none: ``DO NOTHING``). ``source`` is SQL text (a staging table's quoted name) whose
    ``columns`` have distinct keys; the caller owns the transaction."""
    cols = ", ".join(_quote(c) for c in columns)
    keys = ", ".join(_quote(c) for c in key_columns)
    if update_columns:
        sets = ", ".join(f"{_quote(c)} = EXCLUDED.{_quote(c)}" for c in update_columns)
        old = ", ".join(f"t.{_quote(c)}" for c in update_columns)
        new = ", ".join(f"EXCLUDED.{_quote(c)}" for c in update_columns)
        on_conflict = (f"DO UPDATE SET {sets} WHERE ROW({old}) IS DISTINCT FROM ROW({new})")
    else:
        on_conflict = "DO NOTHING"
    cur.execute(
        f"WITH written AS (INSERT INTO {quoted_name(table)} AS t ({cols}) "
        f"SELECT {cols} FROM {source} ON CONFLICT ({keys}) {on_conflict} "
        "RETURNING (xmax = 0) AS is_new) "
        "SELECT count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE NOT is_new) "
        "FROM written"
    )
    inserted, updated = cur.fetchone()
    return UpsertResult(inserted=inserted, updated=updated)


class NewRowsCopy:
    """A binary COPY of rows whose keys the caller has just found absent, straight into
    ``table`` (no staging), in the caller's transaction and under a savepoint. Use it as a
    context manager: leaving the block with an error ends an open COPY with that error.

    ``write(rows)`` may be called many times: all of it streams into one COPY, so PostgreSQL
    inserts the rows while the caller prepares the next ones and is waited for once, at
    ``close()`` (a COPY per chunk of 10 000 rows measured 11 % slower for WB pages).
    ``close()`` gives the number of rows inserted, or None when one of the keys was there after
    all (another writer came first): then none of them is written and ``written`` holds them
    for the caller to upsert. A ``write`` after ``close()`` starts a new COPY.

    Binary: PostgreSQL parses nothing, and psycopg dumps a datetime eight times faster than as
    text; so each value must have the Python type psycopg dumps for its column (str for text,
    int or Decimal for numeric, an aware datetime for timestamptz).
    """

    _SAVEPOINT = "new_rows_copy"

    def __init__(self, conn: Connection, table: Table, columns: Sequence[str]) -> None:
        self._raw: psycopg.Connection = conn.connection.driver_connection
        self._target = quoted_name(table)
        self._columns = list(columns)
        self._cursor: psycopg.Cursor | None = None
        self._copying: Any = None  # the open COPY's context manager
        self._write_row: Callable[[Sequence[Any]], None] | None = None
        self._conflict = False
        #: The rows written since the COPY began.
        self.written: list[Sequence[Any]] = []

    def __enter__(self) -> NewRowsCopy:
        return self

    def __exit__(self, kind: type | None, error: BaseException | None, tb: object) -> None:
        if self._copying is not None:  # an error left the block with the COPY open
            self._end(error)
        if self._cursor is not None:
            self._cursor.close()
            self._cursor = None

    def write(self, rows: Iterable[Sequence[Any]]) -> None:
        if self._cursor is None:
            self._open()
        rows = rows if isinstance(rows, list) else list(rows)
        self.written += rows
        if self._conflict:  # (the server told before the end)
            return
        write_row = self._write_row
        try:
            for row in rows:
                write_row(row)  # type: ignore[misc]
        except BaseException as error:
            self._end(error)
            if not isinstance(error, psycopg.errors.UniqueViolation):
                raise
            self._conflict = True

    def close(self) -> int | None:
        """End the COPY: the rows inserted, or None (nothing written) if a key was there."""
        if self._cursor is None:
            return 0
        if not self._conflict:
            try:
                self._end(None)
            except psycopg.errors.UniqueViolation:
                self._conflict = True
        cursor, self._cursor = self._cursor, None
        try:
            if self._conflict:
                cursor.execute(f"ROLLBACK TO SAVEPOINT {self._SAVEPOINT}")
                return None
            inserted = cursor.rowcount
            cursor.execute(f"RELEASE SAVEPOINT {self._SAVEPOINT}")
            return inserted
        finally:
            cursor.close()

    def _open(self) -> None:
        self.written, self._conflict = [], False
        cursor = self._cursor = self._raw.cursor()
        types = _column_types(cursor, self._target, self._columns)
        if all(typmod >= 0 for oid, typmod in types if oid == _NUMERIC):
            cursor.adapters.register_dumper(None, _ScaledNumericDumper)  # this cursor only
        cursor.execute(f"SAVEPOINT {self._SAVEPOINT}")
        cols = ", ".join(_quote(c) for c in self._columns)
        self._copying = cursor.copy(f"COPY {self._target} ({cols}) FROM STDIN (FORMAT BINARY)")
        copy = self._copying.__enter__()
        copy.set_types([oid for oid, _ in types])
        self._write_row = copy.write_row

    def _end(self, error: BaseException | None) -> None:
        """Finish the open COPY, or abandon it with ``error`` (psycopg tells the server)."""
        copying, self._copying, self._write_row = self._copying, None, None
        copying.__exit__(type(error) if error else None, error, None)


class PostgresWarehouse(dg.ConfigurableResource):
    """The application database (schema ``supplybrain``) on PostgreSQL.

    Configure ``database_url`` with ``dg.EnvVar("SUPPLYBRAIN_DATABASE_URL")`` so the URL, which
    may hold a password, never lands in the run config or the UI.
    """

    database_url: str
    _engine: Engine | None = PrivateAttr(default=None)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            # hide_parameters: a failed statement's error must not carry its values (tokens).
            self._engine = create_engine(normalize_database_url(self.database_url),
                                         poolclass=NullPool, hide_parameters=True)
        return self._engine

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection inside one transaction: committed on success, rolled back on error."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """One connection for a loop of transactions (``with conn.begin():`` each), which
        saves opening a connection per transaction. Use it from one thread at a time."""
        with self.engine.connect() as conn:
            yield conn

    def bulk_upsert(
        self,
        table: Table,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        key_columns: Sequence[str],
        update_columns: Sequence[str] | None = None,
        *,
        new_rows: Collection[Sequence[Any]] = (),
    ) -> UpsertResult:
        """:func:`bulk_upsert` in a transaction of its own."""
        with self.transaction() as conn:
            return bulk_upsert(conn, table, columns, rows, key_columns, update_columns,
                               new_rows=new_rows)


def warehouse_from_env() -> PostgresWarehouse:
    """The resource as the code location configures it (URL from the environment)."""
    return PostgresWarehouse(database_url=dg.EnvVar(DATABASE_URL_ENV))
