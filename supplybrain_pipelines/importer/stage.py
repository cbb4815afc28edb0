"""Stream one import file into a temporary staging table, then check it in SQL.

``stage_file`` reads the file in chunks (``parse.read_chunks``), resolves each chunk's natural
keys with the lookups (``resolve.resolve_rows``; the lookups hold master data, whose size does
not grow with the file) and COPYs every valid row into ``_import_stage`` (dropped at commit):
its line, the natural-key values that are not table columns (as text), and its table columns
(NULL when a reference is unknown). For orders and plain upserts, each chunk also goes to its
table (through ``_import_chunk``) while the file has no error. Duplicate keys are then found
in SQL, each repeat named by its line and the key's first line, as ``parse_file`` names them
(unless the writes proved there are none: ``ChunkWrite.keys_unique``).
Memory holds two chunks (one read, one written) and at most ``report.KEPT_ERRORS`` errors,
whatever the size of the file.

The errors of a file, as the import has always reported them: its parse errors and duplicates
if it has any, else its unknown references.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain
from typing import IO, Protocol

import psycopg
import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from supplybrain_pipelines.importer.parse import ParsedRow, duplicate_message, read_chunks
from supplybrain_pipelines.importer.progress import Progress
from supplybrain_pipelines.importer.report import ErrorList, RowError
from supplybrain_pipelines.importer.resolve import Lookups, resolve_rows, table_columns
from supplybrain_pipelines.importer.spec import (
    BOOL,
    CHOICE,
    DATE,
    DATETIME,
    DECIMAL,
    INT,
    NUMBER,
    TEXT,
    Column,
    FileSpec,
)

STAGE, CHUNK = "_import_stage", "_import_chunk"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class Staged:
    """A staged file: its table columns, its valid rows (in ``STAGE``) and its errors."""

    spec: FileSpec
    columns: list[str] = field(default_factory=list)
    rows: int = 0  # valid rows staged
    parse_errors: ErrorList = field(default_factory=ErrorList)
    reference_errors: ErrorList = field(default_factory=ErrorList)
    staged: bool = False  # False: the header was bad, nothing is in STAGE
    written: bool = False  # every row is written to the table already, chunk by chunk

    @property
    def errors(self) -> ErrorList:
        return self.parse_errors if self.parse_errors else self.reference_errors


def _key_sources(spec: FileSpec, columns: list[str]) -> dict[str, str]:
    """Where each natural-key column is in the staging table: a table column holding the same
    value (``day``, an order's ``channel``), else a text column of its own."""
    names = dict.fromkeys(c for key in spec.keys for c in key)
    same = {c for c in names if c in columns
            and (spec.write == "orders" or spec.column(c).db == c)}
    return {c: (c if c in same else f"_k_{c}") for c in names}


class ChunkWrite(Protocol):
    """Writes the ``rows`` rows in ``CHUNK`` (the file's table ``columns``) to the file's
    table (``load.ChunkWrites``). ``keys_unique``: the writes so far proved that no natural key
    repeats (a unique index took them all), so the duplicate check can be skipped."""

    keys_unique: bool

    def __call__(self, conn: Connection, columns: list[str], rows: int) -> None: ...


#: The table column types a value of each kind is COPYed to in binary (psycopg dumps the
#: Python value for the column's type); any other pairing (a number into ``numeric``) goes
#: as text, which PostgreSQL casts.
BINARY_KINDS: dict[str, type] = {TEXT: sa.String, CHOICE: sa.String, INT: sa.Integer,
                                 DECIMAL: sa.Numeric, NUMBER: sa.Float, BOOL: sa.Boolean,
                                 DATE: sa.Date, DATETIME: sa.DateTime}


def _binary(spec: FileSpec, present: list[Column]) -> bool:
    """Whether every value the file stages has the Python type of its column (ids are int,
    keys str), so the COPY can be binary (about twice as fast as text to encode)."""
    if spec.write == "orders":
        return True  # resolve.ORDER_COLUMNS: str, int, aware datetime, Decimal, bool
    for col in present:
        if col.db is None:
            continue
        kind = spec.table.c[col.db].type
        if not isinstance(kind, BINARY_KINDS[col.kind]) or (
                col.kind == DECIMAL and isinstance(kind, sa.Float)) or (
                col.kind == DATETIME and not kind.timezone):
            return False
    return True


def _store(conn: Connection, names: str, rows: list[tuple], write: ChunkWrite | None,
           columns: list[str], types: list[int] | None, keys: str) -> bool:
    """Stage a chunk's rows; with ``write``, write them to the table and stage only their
    ``keys`` (the line and the natural key, all the duplicate check needs). False when the
    write could not be done because the chunk repeats a key (its savepoint is rolled back;
    the duplicate check reports it)."""
    with conn.connection.driver_connection.cursor() as cur:
        binary = " (FORMAT BINARY)" if types else ""
        with cur.copy(f"COPY {CHUNK if write else STAGE} ({names}) FROM STDIN{binary}"
                      ) as copy:
            if types:
                copy.set_types(types)
            for row in rows:
                copy.write_row(row)
        if write is None:
            return True
        cur.execute(f"INSERT INTO {STAGE} ({keys}) SELECT {keys} FROM {CHUNK}")
        try:
            with conn.begin_nested():
                write(conn, columns, len(rows))
        except DBAPIError as exc:
            if not isinstance(exc.orig, psycopg.errors.CardinalityViolation):
                raise
            return False
        finally:
            cur.execute(f"TRUNCATE {CHUNK}")
    return True


def _with_keys(parsed: list[ParsedRow], resolved: dict[int, tuple], own: list[str],
               at: dict[str, int], width: int) -> list[tuple]:
    """The staged rows: line, the key values staged as text, the table row (a row whose
    references are unknown, or not resolved: NULLs but for the key columns it has)."""
    rows = []
    for row in parsed:
        values = row.values
        table_row = resolved.get(row.line)
        if table_row is None:
            table_row = [None] * width
            for c, i in at.items():
                table_row[i] = values.get(c)
        keys = [None if values.get(c) is None else str(values[c]) for c in own]
        rows.append((row.line, *keys, *table_row))
    return rows


@contextmanager
def fewer_collections(threshold: int = 50_000) -> Iterator[None]:
    """Run Python's cyclic garbage collector every ``threshold`` allocations instead of every
    700 while a file is read: a chunk is 20 000 rows of dicts and tuples (none in a cycle), and
    collecting them over and over took about a third of the reading's CPU (measured: 1.2 s
    against 0.8 s for 200 000 order lines). The previous thresholds are restored after."""
    saved = gc.get_threshold()
    gc.set_threshold(threshold, *saved[1:])
    try:
        yield
    finally:
        gc.set_threshold(*saved)


def stage_file(conn: Connection, spec: FileSpec, binary: IO[bytes], lookups: Lookups | None,
               progress: Progress, chunk_size: int = 20_000, write: ChunkWrite | None = None
               ) -> Staged:
    """Stage the file (``lookups`` None: check it only, resolving nothing) and find its
    duplicates. With ``write``, each chunk is also written to the table while no error has
    been found (``Staged.written``); the caller rolls back a file with errors.

    The database side of a chunk runs in a thread of its own while the next chunk is read, so
    PostgreSQL and Python work at the same time. Raises parse.Unreadable when the file stops
    being UTF-8 or CSV; the caller rolls back."""
    out = Staged(spec)
    chunks = read_chunks(spec, binary, chunk_size)
    first = next(chunks)
    out.parse_errors.add(first.errors)
    if first.errors and first.data_rows == 0:  # the header is bad: no row was read
        return out
    present = first.present
    out.columns = table_columns(spec, present)
    sources = _key_sources(spec, out.columns)
    own = [c for c, where in sources.items() if where != c]  # key columns staged as text
    at = {c: out.columns.index(c) for c in sources if sources[c] == c}
    extra = "".join(f", NULL::text AS {_q(sources[c])}" for c in own)
    table = conn.dialect.identifier_preparer.format_table(spec.table)
    conn.exec_driver_sql(f"CREATE TEMP TABLE {STAGE} ON COMMIT DROP AS SELECT NULL::int AS "
                         f"_line{extra}, {', '.join(map(_q, out.columns))} "
                         f"FROM {table} WITH NO DATA")
    out.staged = True
    types = None
    if _binary(spec, present):
        types = [oid for (oid,) in conn.exec_driver_sql(
            "SELECT atttypid::int FROM pg_attribute WHERE attrelid = %(t)s::regclass "
            "AND attnum > 0 AND NOT attisdropped ORDER BY attnum", {"t": STAGE})]
    if write is not None:
        conn.exec_driver_sql(f"CREATE TEMP TABLE {CHUNK} ON COMMIT DROP AS SELECT * "
                             f"FROM {STAGE} WITH NO DATA")
    out.written = write is not None and lookups is not None
    names = ", ".join(["_line", *(_q(sources[c]) for c in own), *map(_q, out.columns)])
    keys = ", ".join(["_line", *dict.fromkeys(map(_q, sources.values()))])
    with fewer_collections(), ThreadPoolExecutor(1, thread_name_prefix="import-writer"
                                                  ) as writer:
        pending: Future[bool] | None = None
        for chunk in chain([first], chunks):
            if chunk is not first:
                out.parse_errors.add(chunk.errors)
            lines: list[int] = []
            table_rows: list[tuple] = []
            if lookups is not None:
                res, problems = resolve_rows(spec, present, chunk.rows, lookups)
                out.reference_errors.add(problems)
                lines, table_rows = res.lines, res.rows
            if not own and len(lines) == len(chunk.rows):  # every row resolved: as they are
                rows = [(line, *values) for line, values in zip(lines, table_rows,
                                                                 strict=True)]
            else:
                rows = _with_keys(chunk.rows, dict(zip(lines, table_rows, strict=True)), own,
                                  at, len(out.columns))
            out.rows += len(rows)
            if pending is not None:
                out.written &= pending.result()
            out.written &= not (out.parse_errors or out.reference_errors)
            pending = writer.submit(_store, conn, names, rows,
                                    write if out.written else None, out.columns, types,
                                    keys)
            progress.read(chunk.data_rows)
        if pending is not None:
            out.written &= pending.result()
    progress.writing()
    if not (out.written and write is not None and write.keys_unique):
        out.parse_errors = out.parse_errors.merged(_duplicates(conn, spec, sources,
                                                               out.parse_errors.limit))
    return out


def drop_stage(conn: Connection) -> None:
    """Drop the staging table (the next file makes its own)."""
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {STAGE}, {CHUNK}")


def _duplicates(conn: Connection, spec: FileSpec, sources: dict[str, str], limit: int
                ) -> ErrorList:
    """The rows whose natural key (any of ``spec.keys``) repeats an earlier line's, in line
    order; a key with an empty value is not compared."""
    found = ErrorList(limit)
    raw = conn.connection.driver_connection
    errors: list[tuple[int, int, RowError]] = []
    with raw.cursor() as cur:
        for index, key in enumerate(spec.keys):
            cols = ", ".join(_q(sources[c]) for c in key)
            given = " AND ".join(f"{_q(sources[c])} IS NOT NULL" for c in key)
            cur.execute(f"SELECT 1 FROM {STAGE} WHERE {given} GROUP BY {cols} "
                        "HAVING count(*) > 1 LIMIT 1")
            if cur.fetchone() is None:
                continue
            repeats = (f"FROM (SELECT _line, {cols}, min(_line) OVER (PARTITION BY {cols}) "
                       f"AS _first FROM {STAGE} WHERE {given}) d WHERE _line > _first")
            cur.execute(f"SELECT count(*) {repeats}")
            found.total += cur.fetchone()[0]
            cur.execute(f"SELECT _line, _first, {cols} {repeats} ORDER BY _line LIMIT %s",
                        (limit,))
            errors += [(line, index, RowError(spec.file, line, duplicate_message(
                key, tuple(value), first))) for line, first, *value in cur]
    found.kept = [e for _, _, e in sorted(errors, key=lambda x: x[:2])][:limit]
    return found
