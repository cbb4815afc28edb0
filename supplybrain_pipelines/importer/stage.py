"""Stream one import file into a temporary staging table, then check it in SQL.

``stage_file`` reads the file in chunks (``parse.read_chunks``), resolves each chunk's natural
keys with the lookups (``resolve.resolve_rows``; the lookups hold master data, whose size does
not grow with the file) and COPYs every valid row into ``_import_stage`` (dropped at commit):
its line, the natural-key values that are not table columns (as text), and its table columns
(NULL when a reference is unknown). Duplicate keys are then found in SQL, each repeat named by
its line and the key's first line, as ``parse_file`` names them. Memory holds one chunk and at
most ``report.KEPT_ERRORS`` errors, whatever the size of the file.

The errors of a file, as the import has always reported them: its parse errors and duplicates
if it has any, else its unknown references.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import IO, Any

from sqlalchemy import Connection

from supplybrain_pipelines.importer.parse import duplicate_message, read_chunks
from supplybrain_pipelines.importer.progress import Progress
from supplybrain_pipelines.importer.report import ErrorList, RowError
from supplybrain_pipelines.importer.resolve import Lookups, resolve_rows, table_columns
from supplybrain_pipelines.importer.spec import FileSpec
from supplybrain_pipelines.resources.warehouse import quoted_name

STAGE = "_import_stage"


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


def stage_file(conn: Connection, spec: FileSpec, binary: IO[bytes], lookups: Lookups | None,
               progress: Progress, chunk_size: int = 20_000) -> Staged:
    """Stage the file (``lookups`` None: check it only, resolving nothing) and find its
    duplicates. Raises parse.Unreadable when the file stops being UTF-8 or CSV; the caller
    rolls back."""
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
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:
        extra = "".join(f", NULL::text AS {_q(sources[c])}" for c in own)
        cur.execute(f"CREATE TEMP TABLE {STAGE} ON COMMIT DROP AS SELECT NULL::int AS _line"
                    f"{extra}, {', '.join(map(_q, out.columns))} "
                    f"FROM {quoted_name(spec.table)} WITH NO DATA")
        out.staged = True
        names = ", ".join(["_line", *(_q(sources[c]) for c in own), *map(_q, out.columns)])
        nulls = (None,) * len(out.columns)
        with cur.copy(f"COPY {STAGE} ({names}) FROM STDIN") as copy:
            chunk: Any = first
            while chunk is not None:
                if chunk is not first:
                    out.parse_errors.add(chunk.errors)
                resolved: dict[int, tuple] = {}
                if lookups is not None:
                    res, problems = resolve_rows(spec, present, chunk.rows, lookups)
                    out.reference_errors.add(problems)
                    resolved = dict(zip(res.lines, res.rows, strict=True))
                for row in chunk.rows:
                    values = row.values
                    table_row = resolved.get(row.line)
                    if table_row is None:  # unknown reference, or not resolved: keys only
                        table_row = list(nulls)
                        for c, i in at.items():
                            table_row[i] = values.get(c)
                    keys = [None if values.get(c) is None else str(values[c]) for c in own]
                    copy.write_row((row.line, *keys, *table_row))
                out.rows += len(chunk.rows)
                progress.read(chunk.data_rows)
                chunk = next(chunks, None)
    progress.writing()
    out.parse_errors = out.parse_errors.merged(_duplicates(conn, spec, sources,
                                                           out.parse_errors.limit))
    return out


def drop_stage(conn: Connection) -> None:
    """Drop the staging table (the next file makes its own)."""
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {STAGE}")


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
