"""Read one import file into typed rows, or into errors that name the file, the line and the
problem. Pure: bytes in, rows and errors out; no database.

``read_chunks`` streams a file of any size: it reads line by line and yields the typed rows
and the errors of at most ``chunk_size`` data rows at a time, so memory does not grow with the
file. It does not look for duplicate keys (that needs every row; the import does it in SQL on
its staging table, ``stage.py``). ``parse_file`` is the same reading over bytes in memory, with
the duplicate check in Python: every row of a small file at once.

Lines are counted as in the file (the header is line 1; a quoted value that spans lines counts
from its first line). Blank lines are skipped. Values are stripped of surrounding spaces; an
empty value takes the column's default. Header names are matched case-insensitively.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from supplybrain_pipelines.importer.report import RowError
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

TRUE = frozenset({"true", "t", "yes", "y", "1"})
FALSE = frozenset({"false", "f", "no", "n", "0"})


@dataclass(slots=True)
class ParsedRow:
    line: int
    values: dict[str, Any]  # the columns present in the header, typed


@dataclass
class ParsedFile:
    spec: FileSpec
    header: list[str] = field(default_factory=list)
    rows: list[ParsedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    data_rows: int = 0  # the data lines read (valid or not), blank lines not counted

    @property
    def present(self) -> list[Column]:
        """The spec's columns that the header has, in the spec's order."""
        return [c for c in self.spec.columns if c.name in self.header]


def quoted(raw: Any, limit: int = 40) -> str:
    text = str(raw)
    return "'" + (text if len(text) <= limit else text[:limit] + "…") + "'"


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _bounds(col: Column, value: float | int | Decimal) -> Any:
    if col.lo is not None and value < col.lo:
        if col.lo == 0:
            raise ValueError(f"{col.name} {value} is negative")
        raise ValueError(f"{col.name} {value} is below the minimum of {_number(col.lo)}")
    if col.hi is not None and value > col.hi:
        raise ValueError(f"{col.name} {value} is above the maximum of {_number(col.hi)}")
    return value


def convert(col: Column, raw: str) -> Any:
    """The typed value of a non-empty cell; ValueError with one sentence when it is not one."""
    kind, name = col.kind, col.name
    if kind == TEXT:
        if col.max_len is not None and len(raw) > col.max_len:
            raise ValueError(f"{name} is longer than {col.max_len} characters")
        return raw
    if kind == INT:
        try:
            value = int(raw.replace("_", "x"))  # int() would accept 1_000
        except ValueError:
            raise ValueError(f"{name} {quoted(raw)} is not a whole number") from None
        return _bounds(col, value)
    if kind == NUMBER:
        try:
            value = float(raw.replace("_", "x"))
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise ValueError(f"{name} {quoted(raw)} is not a number")
        return _bounds(col, value)
    if kind == DECIMAL:
        try:
            value = Decimal(raw.replace("_", "x"))
        except InvalidOperation:
            value = Decimal("NaN")
        if not value.is_finite():
            raise ValueError(f"{name} {quoted(raw)} is not a number")
        if col.places is not None and -value.as_tuple().exponent > col.places:
            raise ValueError(f"{name} {quoted(raw)} has more than {col.places} decimal places")
        return _bounds(col, value)
    if kind == BOOL:
        lowered = raw.lower()
        if lowered in TRUE or lowered in FALSE:
            return lowered in TRUE
        raise ValueError(f"{name} {quoted(raw)} is not a boolean (use true or false)")
    if kind == DATE:
        try:
            if len(raw) != 10:
                raise ValueError
            return date.fromisoformat(raw)
        except ValueError:
            raise ValueError(f"{name} {quoted(raw)} is not a date (YYYY-MM-DD)") from None
    if kind == DATETIME:
        try:
            value = datetime.fromisoformat(raw)
        except ValueError:
            raise ValueError(f"{name} {quoted(raw)} is not an ISO-8601 date and time "
                             "(e.g. 2026-09-01T10:15:00+03:00)") from None
        if value.tzinfo is None:  # naive means UTC
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    if kind == CHOICE:
        if raw.lower() in col.choices:
            return raw.lower()
        raise ValueError(f"{name} {quoted(raw)} is not one of {', '.join(col.choices)}")
    raise ValueError(f"{name} has an unknown type {kind!r}")  # a bug in spec.py, not the file


class Unreadable(Exception):  # noqa: N818 - a state of the file, not a bug
    """The file is not UTF-8 or not valid CSV from this line on: its one error."""

    def __init__(self, error: RowError) -> None:
        super().__init__(str(error))
        self.error = error


def _lines(file: str, binary: Iterable[bytes]) -> Iterator[str]:
    """The decoded lines of a binary file (a byte-order mark at the start is dropped)."""
    for number, raw in enumerate(binary, start=1):
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            offset = exc.start + (3 if number == 1 and raw.startswith(b"\xef\xbb\xbf") else 0)
            raise Unreadable(RowError(file, number, f"byte 0x{raw[offset]:02x} is not valid "
                                      "UTF-8; save the file as UTF-8")) from None
        yield line


def records(file: str, binary: Iterable[bytes]) -> Iterator[tuple[int, list[str]]]:
    """(first line, values) of every record; Unreadable when the file stops being readable."""
    reader = csv.reader(_lines(file, binary), strict=True)
    previous = 0
    try:
        for record in reader:
            yield previous + 1, record
            previous = reader.line_num
    except csv.Error as exc:
        raise Unreadable(RowError(file, previous + 1, f"is not valid CSV ({exc})")) from None


def _header(parsed: ParsedFile, record: list[str]) -> bool:
    spec, file = parsed.spec, parsed.spec.file
    names = [name.strip().lower() for name in record]
    known = [c.name for c in spec.columns]
    problems = []
    for position, name in enumerate(names, start=1):
        if not name:
            problems.append(f"column {position} of the header has no name")
        elif name not in known:
            problems.append(f"unknown column {quoted(name)}; the columns of {file} are "
                            f"{', '.join(known)}")
        elif names.index(name) != position - 1:
            problems.append(f"column {quoted(name)} appears twice in the header")
    problems += [f"missing required column {quoted(c.name)}" for c in spec.columns
                 if c.required and c.name not in names]
    parsed.errors += [RowError(file, 1, p) for p in problems]
    parsed.header = names
    return not problems


#: Distinct raw values remembered per column (a price, a barcode, a flag repeat a lot).
CACHED_VALUES = 4096
_MISSING = object()


def converter(col: Column) -> tuple[dict[str, Any], Callable[[str], Any]]:
    """``convert`` for one column: a dict of values already converted (looked up first) and the
    function for a cell it lacks. The dict remembers the values of the first CACHED_VALUES
    distinct cells (the values are immutable; a bad cell is converted, and refused, every time);
    it stays empty for text and date-times (mostly distinct values: converted directly)."""
    if col.kind == TEXT:
        limit = col.max_len if col.max_len is not None else math.inf
        return {}, lambda raw: raw if len(raw) <= limit else convert(col, raw)
    if col.kind == DATETIME:
        def convert_datetime(raw: str) -> datetime:
            try:
                value = datetime.fromisoformat(raw)
            except ValueError:
                return convert(col, raw)  # raises, with the sentence
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return {}, convert_datetime
    cache: dict[str, Any] = {}

    def convert_cached(raw: str) -> Any:
        value = convert(col, raw)
        if len(cache) < CACHED_VALUES:
            cache[raw] = value
        return value
    return cache, convert_cached


Cells = list[tuple[str, bool, Any, dict[str, Any], Callable[[str], Any]]]


def _row(parsed: ParsedFile, cols: Cells, line: int, record: list[str]) -> dict[str, Any] | None:
    """The typed values of one record, or None with all its problems added to
    ``parsed.errors``: the reading of a record that ``_fast_row``'s function refused."""
    if len(record) != len(cols):
        parsed.errors.append(RowError(parsed.spec.file, line, f"has {len(record)} values but the "
                                      f"header has {len(cols)} columns"))
        return None
    values: dict[str, Any] = {}
    problems: list[str] | None = None  # the lengths are equal (checked above)
    for (name, required, default, known, convert_one), raw in zip(cols, record, strict=False):
        if raw and (raw := raw.strip()):
            value = known.get(raw, _MISSING)
            if value is _MISSING:
                try:
                    value = convert_one(raw)
                except ValueError as exc:
                    problems = [*(problems or ()), str(exc)]
                    continue
            values[name] = value
        else:
            if required:
                problems = [*(problems or ()), f"missing required value for {name}"]
            values[name] = default
    check = parsed.spec.check
    if problems is None:
        if check is None or (problem := check(values)) is None:
            return values
        problems = [problem]
    parsed.errors += [RowError(parsed.spec.file, line, p) for p in problems]
    return None


class _Slow(ValueError):
    """A cell that the fast reading of a row leaves to ``_row`` (empty where required)."""


def _fast_row(cols: Cells) -> Callable[[list[str]], dict[str, Any]]:
    """The values of a record of ``len(cols)`` cells with no problem, as ``_row`` gives them,
    by a function compiled for this header (no loop or tuple per cell: the import's hot path).
    It raises ValueError on any record ``_row`` would refuse (wrong length, a bad cell, an
    empty required one), which ``_row`` then reads again for its errors. Only positions reach
    the generated code; names, dicts and functions are passed as values, never as source."""
    scope: dict[str, Any] = {"M": _MISSING, "Slow": _Slow}
    lines = ["def fast(record):", f"    if len(record) != {len(cols)}:", "        raise Slow"]
    for i, (name, required, default, known, convert_one) in enumerate(cols):
        scope.update({f"n{i}": name, f"d{i}": default, f"k{i}": known.get,
                      f"c{i}": convert_one})
        lines += [f"    r = record[{i}]",
                  "    if r and (r := r.strip()):",
                  f"        v{i} = k{i}(r, M)",
                  f"        if v{i} is M:",
                  f"            v{i} = c{i}(r)",
                  "    else:",
                  "        raise Slow" if required else f"        v{i} = d{i}"]
    lines.append("    return {" + ", ".join(f"n{i}: v{i}" for i in range(len(cols))) + "}")
    exec(compile("\n".join(lines), "<importer row>", "exec"), scope)  # noqa: S102
    return scope["fast"]


def read_chunks(spec: FileSpec, binary: Iterable[bytes], chunk_size: int = 20_000
                ) -> Iterator[ParsedFile]:
    """The file's typed rows and errors, ``chunk_size`` data rows (valid or not) at a time, in
    file order. The first chunk has the header; a bad header ends the file there. Raises
    Unreadable (its one error) where the file stops being UTF-8 or CSV."""
    parsed = ParsedFile(spec)
    rows = records(spec.file, binary)
    first = next(rows, None)
    if first is None or not any(cell.strip() for cell in first[1]):
        parsed.errors.append(RowError(spec.file, 1, "line 1 must be the header ("
                                      + ", ".join(c.name for c in spec.columns) + ")"))
        yield parsed
        return
    if not _header(parsed, first[1]):
        yield parsed
        return
    header = parsed.header
    cols: Cells = [(c.name, c.required, c.default, *converter(c))
                   for c in (spec.column(name) for name in header)]
    max_rows = spec.max_rows if spec.max_rows is not None else math.inf
    fast, check = _fast_row(cols), spec.check
    data_rows, in_chunk, kept = 0, 0, parsed.rows
    for line, record in rows:
        if not (record and record[0].strip()) and not any(cell.strip() for cell in record):
            continue  # a blank line (or only separators)
        data_rows += 1
        in_chunk += 1
        if data_rows > max_rows:
            parsed.errors.append(RowError(spec.file, line, f"{spec.file} holds one row; this "
                                          "is another"))
        else:
            try:
                values = fast(record)
            except ValueError:  # a problem in the record: _row names them all
                values = _row(parsed, cols, line, record)
            else:
                if check is not None and (problem := check(values)) is not None:
                    parsed.errors.append(RowError(spec.file, line, problem))
                    values = None
            if values is not None:
                kept.append(ParsedRow(line, values))
        if in_chunk >= chunk_size:
            parsed.data_rows = in_chunk
            yield parsed
            parsed, in_chunk = ParsedFile(spec, header), 0
            kept = parsed.rows
    parsed.data_rows = in_chunk
    yield parsed


def duplicate_message(key: tuple[str, ...], value: tuple[Any, ...], first_line: int) -> str:
    """The sentence for a row whose ``key`` columns repeat those of line ``first_line``."""
    same = ", ".join(f"{c} {quoted(v)}" for c, v in zip(key, value, strict=True))
    return f"duplicate of line {first_line}: the same {same}"


def parse_file(spec: FileSpec, data: bytes | IO[bytes]) -> ParsedFile:
    """Typed rows of ``data`` (the file's bytes, or a binary file) and every error found in it,
    duplicate keys included (each key's first line wins; its repeats are errors)."""
    binary = io.BytesIO(data) if isinstance(data, bytes) else data
    parsed = ParsedFile(spec)
    try:
        for chunk in read_chunks(spec, binary):
            parsed.header = chunk.header
            parsed.rows += chunk.rows
            parsed.errors += chunk.errors
            parsed.data_rows += chunk.data_rows
    except Unreadable as exc:
        return ParsedFile(spec, errors=[exc.error])
    seen: list[dict[tuple, int]] = [{} for _ in spec.keys]
    kept, duplicates = [], []
    for row in parsed.rows:
        duplicate = False
        for key, first_lines in zip(spec.keys, seen, strict=True):
            value = tuple(row.values.get(c) for c in key)
            if any(v is None for v in value):
                continue
            if value in first_lines:
                duplicates.append(RowError(spec.file, row.line, duplicate_message(
                    key, value, first_lines[value])))
                duplicate = True
            else:
                first_lines[value] = row.line
        if not duplicate:
            kept.append(row)
    parsed.rows = kept
    parsed.errors = sorted(parsed.errors + duplicates, key=lambda e: e.line or 0)
    return parsed
