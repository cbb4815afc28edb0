"""CSV import: ``import_directory(conn_or_url, path)`` loads master data, settings, stock, orders
and purchase orders from one CSV file per table (docs/csv_import.md).

Files load in dependency order (``spec.FILES``), each in a transaction of its own, and each is
all or nothing: a file with any bad row writes nothing and lists its errors (file, line,
problem); the other files still load, except those that refer to a file that failed, which
are reported as not loaded. Unknown ``*.csv`` names are reported and ignored.

A file is streamed (``stage.stage_file``): read, checked and resolved ``CHUNK_ROWS`` rows at a
time into a staging table and, while it has no error, written chunk by chunk
(``load.ChunkWrites``); a file with an error leaves its transaction with ``_Discard``, which
rolls back whatever of it was written. Memory does not grow with the size of a file.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import psycopg
from sqlalchemy import Connection, create_engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import NullPool

from supplybrain_pipelines.config import normalize_database_url, redact
from supplybrain_pipelines.db.migrate import DatabaseUnavailable
from supplybrain_pipelines.importer.load import chunk_writes, fetch_lookups, write
from supplybrain_pipelines.importer.parse import Unreadable
from supplybrain_pipelines.importer.progress import Progress
from supplybrain_pipelines.importer.report import (
    BLOCKED,
    FAILED,
    IGNORED,
    LOADED,
    ErrorList,
    FileResult,
    ImportAborted,
    ImportReport,
    RowError,
)
from supplybrain_pipelines.importer.spec import BY_FILE, FILES, FileSpec
from supplybrain_pipelines.importer.stage import drop_stage, stage_file

#: Rows read, resolved and staged at a time: the memory an import needs does not depend on
#: the size of the file.
CHUNK_ROWS = 20_000

__all__ = ["FILES", "FileResult", "ImportAborted", "ImportReport", "RowError",
           "import_directory", "run_import"]

Transaction = Callable[[], AbstractContextManager[Connection]]


def _first_line(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    lines = [" ".join(line.split()) for line in str(original).splitlines() if line.strip()]
    return (lines[0] if lines else type(original).__name__).rstrip(".")


@contextmanager
def _transactions(conn_or_url: Connection | URL | str) -> Iterator[Transaction]:
    """A factory of per-file transactions: a SAVEPOINT on the caller's connection (the caller
    commits), or a transaction of its own on a new engine for a URL."""
    if isinstance(conn_or_url, Connection):
        conn = conn_or_url

        @contextmanager
        def savepoint() -> Iterator[Connection]:
            with conn.begin_nested():
                yield conn

        yield savepoint
        return
    text = (conn_or_url.render_as_string(hide_password=False)
            if isinstance(conn_or_url, URL) else conn_or_url)
    url = normalize_database_url(text)
    engine = create_engine(url, poolclass=NullPool, hide_parameters=True)
    try:
        yield engine.begin
    except (OperationalError, psycopg.OperationalError) as exc:
        raise DatabaseUnavailable(url, 0.0, _first_line(exc)) from None
    finally:
        engine.dispose()


class _Discard(Exception):  # noqa: N818 - not an error: the file's result, nothing written
    """Leave the file's transaction, rolling it back, with this result."""

    def __init__(self, result: FileResult) -> None:
        super().__init__(result.file)
        self.result = result


def _failed(spec: FileSpec, status: str, errors: ErrorList, note: str = "") -> FileResult:
    return FileResult(spec.file, spec.table.name, status, errors=errors.kept, note=note,
                      errors_not_kept=errors.total - len(errors.kept))


def _import_file(begin: Transaction, spec: FileSpec, path: Path, statuses: dict[str, str],
                 progress: Progress, chunk_size: int) -> FileResult:
    table = spec.table.name
    blocked = [f"{dep}, which {'failed' if statuses[dep] == FAILED else 'was not loaded'}"
               for dep in spec.depends_on if statuses.get(dep) in (FAILED, BLOCKED)]
    progress.start(spec.file)
    try:
        with path.open("rb") as binary, begin() as conn:
            lookups = None if blocked else fetch_lookups(conn, spec.needed_lookups)
            through = chunk_writes(spec)
            staged = stage_file(conn, spec, binary, lookups, progress, chunk_size, through)
            if blocked:
                raise _Discard(_failed(spec, BLOCKED, staged.parse_errors, note=(
                    f"it refers to {'; and '.join(blocked)}; fix that and import again")))
            if staged.errors:
                raise _Discard(_failed(spec, FAILED, staged.errors))
            if staged.written and through is not None:
                counts, days = through.finish(conn, staged)
            else:
                counts, days = write(conn, spec, staged)
            drop_stage(conn)  # a savepoint's temporary table lasts until the caller commits
    except _Discard as discarded:
        return discarded.result
    except Unreadable as exc:
        return FileResult(spec.file, table, FAILED, errors=[exc.error])
    except OSError as exc:
        return FileResult(spec.file, table, FAILED,
                          errors=[RowError(spec.file, None, f"cannot be read ({exc.strerror})")])
    except (DBAPIError, psycopg.Error) as exc:  # a COPY raises psycopg's own
        original = getattr(exc, "orig", None) or exc
        if isinstance(exc, OperationalError) or isinstance(original, psycopg.OperationalError):
            raise
        if isinstance(original, psycopg.errors.UndefinedTable | psycopg.errors.InvalidSchemaName):
            raise ImportAborted("The database has no supplybrain tables yet; run "
                                "`supplybrain db upgrade` first.") from None
        message = f"the database refused the file, nothing of it was written: {_first_line(exc)}"
        return FileResult(spec.file, table, FAILED, errors=[RowError(spec.file, None, message)])
    finally:
        progress.done()
    return FileResult(spec.file, table, LOADED, counts=counts, days_rebuilt=days)


def import_directory(conn_or_url: Connection | URL | str, path: str | Path, *,
                     progress: Progress | None = None, chunk_size: int = CHUNK_ROWS
                     ) -> ImportReport:
    """Import the CSV files of directory ``path`` into the application database.

    Each file is streamed ``chunk_size`` rows at a time into a staging table (``stage.py``),
    so memory does not grow with its size; ``progress`` (default: none) is told how it goes.

    ``conn_or_url``: a database URL (each file commits on its own), or an open Connection
    (each file runs in a SAVEPOINT; the caller commits). Raises ImportAborted when the
    directory or the schema is missing, DatabaseUnavailable when PostgreSQL cannot be reached;
    everything about the files themselves is in the returned report.
    """
    directory = Path(path)
    if not directory.is_dir():
        raise ImportAborted(f"{directory} is not a directory; pass the folder that holds the "
                            "CSV files.")
    names = sorted(p.name for p in directory.iterdir() if p.is_file())
    report = ImportReport(directory)
    statuses: dict[str, str] = {}
    with _transactions(conn_or_url) as begin:
        for spec in FILES:
            if spec.file in names:
                result = _import_file(begin, spec, directory / spec.file, statuses,
                                      progress or Progress(after=math.inf), chunk_size)
                statuses[spec.file] = result.status
                report.files.append(result)
    for name in names:
        if name.lower().endswith(".csv") and name not in BY_FILE:
            hint = (f"import file names are lower case; rename it to {name.lower()}"
                    if name.lower() in BY_FILE else "not an import file name "
                    "(docs/csv_import.md lists them)")
            report.files.append(FileResult(name, None, IGNORED, note=hint))
    return report


def run_import(directory: str, max_errors: int = 20, progress: str = "auto",
               progress_after: float = 3.0) -> int:
    """``supplybrain import DIR``: print the report; 0 when every import file was written.

    ``progress``: ``always``, ``never``, or ``auto`` (when stderr is a terminal): the rows of
    a file that takes more than ``progress_after`` seconds, on stderr (progress.py)."""
    import click

    from supplybrain_pipelines.config import resolve_database_url

    url = resolve_database_url()
    shown = progress == "always" or (progress == "auto" and sys.stderr.isatty())
    try:
        report = import_directory(url, directory, progress=Progress(
            sys.stderr, after=progress_after if shown else math.inf))
    except ImportAborted as exc:
        raise click.ClickException(str(exc).removesuffix(".")) from None
    for line in report.lines(max_errors):
        click.echo(line)
    if report.ok:
        return 0
    failed = [f.file for f in report.files if f.status in (FAILED, BLOCKED)]
    if failed:
        files = "1 file was" if len(failed) == 1 else f"{len(failed)} files were"
        click.echo(f"Error: {files} not written ({', '.join(failed)}) into "
                   f"{redact(url)}; fix the lines listed above and run the import again "
                   "(the files that were written stay).", err=True)
    elif not any(f.status == LOADED for f in report.files):
        click.echo(f"Error: {directory} has no import file; name them as docs/csv_import.md "
                   "lists (articles.csv, colors.csv, …).", err=True)
    return 1
