"""What an import did: one result per file (written, failed, not loaded, ignored) and its errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

#: The statuses of a file: written (its rows are in the database), failed (it has errors and
#: nothing of it was written), blocked (not loaded because a file it refers to failed),
#: ignored (not an import file name).
LOADED, FAILED, BLOCKED, IGNORED = "loaded", "failed", "blocked", "ignored"


#: The errors of one file that are kept (its first, by line); the others are only counted, so a
#: file of millions of bad rows does not fill the memory.
KEPT_ERRORS = 10_000


class ImportAborted(RuntimeError):
    """The import cannot run at all (no such directory, no schema); one sentence with the fix."""


@dataclass(frozen=True)
class RowError:
    """One problem of one file: its line (as in the file, header = line 1) and one sentence."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file} line {self.line}" if self.line is not None else self.file
        end = "" if self.message.endswith((".", "?", "!")) else "."
        return f"{where}: {self.message}{end}"


@dataclass(frozen=True)
class Counts:
    """Rows of a written file: new, changed, already equal, and removed from a replaced scope."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0

    @property
    def rows(self) -> int:
        return self.inserted + self.updated + self.unchanged


@dataclass
class FileResult:
    file: str
    table: str | None
    status: str
    counts: Counts = field(default_factory=Counts)
    errors: list[RowError] = field(default_factory=list)
    note: str = ""
    days_rebuilt: int = 0
    errors_not_kept: int = 0  # errors beyond KEPT_ERRORS: counted, not listed

    @property
    def error_count(self) -> int:
        return len(self.errors) + self.errors_not_kept

    def summary(self) -> str:
        """One line: what happened to the file."""
        target = f"{self.file} -> {self.table}" if self.table else self.file
        c = self.counts
        if self.status == LOADED:
            text = (f"{c.rows} row{'s' if c.rows != 1 else ''}: {c.inserted} inserted, "
                    f"{c.updated} updated, "
                    f"{c.unchanged} unchanged")
            if c.removed:
                text += f", {c.removed} removed"
            if self.days_rebuilt:
                text += f"; orders_daily rebuilt for {self.days_rebuilt} days"
        elif self.status == FAILED:
            n = self.error_count
            text = f"FAILED, {n} error{'s' if n != 1 else ''}, nothing written"
        elif self.status == BLOCKED:
            text = f"NOT LOADED: {self.note}"
        else:
            text = f"ignored: {self.note}"
        return f"{target}: {text}"


@dataclass
class ImportReport:
    directory: Path
    files: list[FileResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every recognised file was written (ignored files do not count)."""
        loaded = [f for f in self.files if f.status == LOADED]
        return bool(loaded) and all(f.status in (LOADED, IGNORED) for f in self.files)

    def result(self, file: str) -> FileResult:
        for result in self.files:
            if result.file == file:
                return result
        raise KeyError(file)

    @property
    def errors(self) -> list[RowError]:
        return [e for f in self.files for e in f.errors]

    def lines(self, max_errors: int = 20) -> list[str]:
        """The report as printed: a summary line per file, its errors indented below it
        (at most ``max_errors`` per file; 0 means all that were kept), then a closing line."""
        out: list[str] = []
        for result in self.files:
            out.append(result.summary())
            shown = result.errors if max_errors <= 0 else result.errors[:max_errors]
            out += [f"  {error}" for error in shown]
            if len(shown) < result.error_count:
                out.append(f"  … and {result.error_count - len(shown)} more errors in "
                           f"{result.file}")
        out.append(self.closing())
        return out

    def closing(self) -> str:
        by = {s: [f.file for f in self.files if f.status == s]
              for s in (LOADED, FAILED, BLOCKED, IGNORED)}
        if not by[LOADED] and not by[FAILED] and not by[BLOCKED]:
            return (f"nothing imported: {self.directory} has no import file "
                    "(articles.csv, colors.csv, …; see docs/csv_import.md)")
        text = f"{len(by[LOADED])} files written"
        if by[FAILED]:
            text += f", {len(by[FAILED])} failed ({', '.join(by[FAILED])})"
        if by[BLOCKED]:
            text += f", {len(by[BLOCKED])} not loaded ({', '.join(by[BLOCKED])})"
        if by[IGNORED]:
            text += f", {len(by[IGNORED])} ignored"
        return text


class ErrorList:
    """A file's errors as they are found: the first KEPT_ERRORS by line, and the total."""

    def __init__(self, limit: int = KEPT_ERRORS) -> None:
        self.kept: list[RowError] = []
        self.total = 0
        self.limit = limit

    def add(self, errors: list[RowError]) -> None:
        """Add errors that come after (by line) those already added."""
        self.total += len(errors)
        room = self.limit - len(self.kept)
        if room > 0:
            self.kept += errors[:room]

    def __bool__(self) -> bool:
        return self.total > 0

    def merged(self, other: ErrorList) -> ErrorList:
        """Both lists in line order (errors of the same line: this list's first)."""
        both = ErrorList(self.limit)
        both.kept = sorted(self.kept + other.kept, key=lambda e: e.line or 0)[:self.limit]
        both.total = self.total + other.total
        return both
