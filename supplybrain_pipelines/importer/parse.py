"""Read one import file into typed rows, or into errors that name the file, the line and the
problem. Pure: bytes in, rows and errors out; no database.

Lines are counted as in the file (the header is line 1; a quoted value that spans lines counts
from its first line). Blank lines are skipped. Values are stripped of surrounding spaces; an
empty value takes the column's default. Header names are matched case-insensitively.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

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


@dataclass
class ParsedRow:
    line: int
    values: dict[str, Any]  # the columns present in the header, typed


@dataclass
class ParsedFile:
    spec: FileSpec
    header: list[str] = field(default_factory=list)
    rows: list[ParsedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

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


def _records(parsed: ParsedFile, data: bytes) -> list[tuple[int, list[str]]] | None:
    """(first line, values) of every record, or None after recording why the file is unreadable."""
    file = parsed.spec.file
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        parsed.errors.append(RowError(file, line, f"byte 0x{data[exc.start]:02x} is not valid "
                                      "UTF-8; save the file as UTF-8"))
        return None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records, previous = [], 0
    try:
        for record in reader:
            records.append((previous + 1, record))
            previous = reader.line_num
    except csv.Error as exc:
        parsed.errors.append(RowError(file, previous + 1, f"is not valid CSV ({exc})"))
        return None
    return records


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


def _row(parsed: ParsedFile, cols: list[Column], line: int, record: list[str]
         ) -> dict[str, Any] | None:
    spec = parsed.spec
    if len(record) != len(cols):
        parsed.errors.append(RowError(spec.file, line, f"has {len(record)} values but the "
                                      f"header has {len(cols)} columns"))
        return None
    values, problems = {}, []
    for col, raw in zip(cols, record, strict=True):
        name, raw = col.name, raw.strip()
        if not raw:
            if col.required:
                problems.append(f"missing required value for {name}")
            values[name] = col.default
            continue
        try:
            values[name] = convert(col, raw)
        except ValueError as exc:
            problems.append(str(exc))
    if not problems and spec.check is not None:
        problem = spec.check(values)
        problems += [problem] if problem else []
    parsed.errors += [RowError(spec.file, line, p) for p in problems]
    return None if problems else values


def parse_file(spec: FileSpec, data: bytes) -> ParsedFile:
    """Typed rows of ``data`` (the file's bytes) and every error found in it."""
    parsed = ParsedFile(spec)
    records = _records(parsed, data)
    if records is None:
        return parsed
    if not records or not any(cell.strip() for cell in records[0][1]):
        parsed.errors.append(RowError(spec.file, 1, "line 1 must be the header ("
                                      + ", ".join(c.name for c in spec.columns) + ")"))
        return parsed
    if not _header(parsed, records[0][1]):
        return parsed
    cols = [spec.column(name) for name in parsed.header]
    seen: list[dict[tuple, int]] = [{} for _ in spec.keys]
    data_rows = 0
    for line, record in records[1:]:
        if not any(cell.strip() for cell in record):
            continue
        data_rows += 1
        if spec.max_rows is not None and data_rows > spec.max_rows:
            parsed.errors.append(RowError(spec.file, line, f"{spec.file} holds one row; this "
                                          "is another"))
            continue
        values = _row(parsed, cols, line, record)
        if values is None:
            continue
        duplicate = False
        for key, first_lines in zip(spec.keys, seen, strict=True):
            value = tuple(values.get(c) for c in key)
            if any(v is None for v in value):
                continue
            if value in first_lines:
                same = ", ".join(f"{c} {quoted(v)}" for c, v in zip(key, value, strict=True))
                parsed.errors.append(RowError(spec.file, line, f"duplicate of line "
                                              f"{first_lines[value]}: the same {same}"))
                duplicate = True
            else:
                first_lines[value] = line
        if not duplicate:
            parsed.rows.append(ParsedRow(line, values))
    return parsed
