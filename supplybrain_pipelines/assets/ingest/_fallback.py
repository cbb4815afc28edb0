"""When PostgreSQL refuses a batch for a data reason: write it in smaller batches, bisecting.

Screening (``logic/screening.py``) and the models keep out what we know PostgreSQL cannot take.
Whatever still gets through (a numeric overflow, a value too long for a column, an encoding
PostgreSQL rejects, ...) makes the server raise an error of the SQLSTATE class 22, "data
exception" (psycopg's ``DataError``; see :data:`DATA_ERRORS`), and would fail the page and
every later run that reads it again. :func:`write_in_batches` writes the rows under a
savepoint; when the server refuses a batch for a data reason, the savepoint is rolled back and
the batch is tried again in halves, down to single rows: only the rows PostgreSQL refuses on
their own are left out, each with the server's message, for the quarantine
(``write_rejected``). Other errors (a lost connection, a lock time-out, a unique violation) are
not the data's fault: they are raised as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import psycopg
import sqlalchemy.exc
from sqlalchemy import Connection

from supplybrain_pipelines.logic.records import Rejected
from supplybrain_pipelines.resources.warehouse import UpsertResult

T = TypeVar("T")

#: The errors that say "this data", not "this connection" or "this schema": the server's data
#: exceptions, and the two a value raises in psycopg before it reaches the server (an integer
#: too big for a binary COPY, text that cannot be encoded to UTF-8).
DATA_ERRORS = (psycopg.DataError, sqlalchemy.exc.DataError, OverflowError, UnicodeEncodeError)

#: Reason code of a record that passed validation and that PostgreSQL still refused.
WRITE_REJECTED = "write_rejected"


def server_message(error: BaseException) -> str:
    """PostgreSQL's one-line message of ``error`` (its primary message, no statement, no
    parameters), at most 200 characters."""
    cause = error.orig if isinstance(error, sqlalchemy.exc.DBAPIError) else error
    diag = getattr(cause, "diag", None)
    message = getattr(diag, "message_primary", None) or str(cause).strip().split("\n")[0]
    return message[:200]


def write_in_batches(conn: Connection, rows: Sequence[Any],
                     write: Callable[[Sequence[Any]], T], *, refused_whole: bool = False
                     ) -> tuple[list[T], list[tuple[int, str]]]:
    """``write(rows)`` in the caller's transaction, each attempt under a savepoint: the results
    of the batches written, and ``(index, message)`` of each row PostgreSQL refused.

    The first attempt is all of ``rows``, so a page without a bad row costs one savepoint
    (``refused_whole``: the caller saw all of them refused already; start with the halves). A
    batch refused for a data reason is rolled back and split in halves; a single row refused is
    left out. ``k`` bad rows among ``n`` cost about ``2 k log2(n)`` attempts."""
    results: list[T] = []
    refused: list[tuple[int, str]] = []
    pending = [(0, len(rows))] if rows else []
    if refused_whole and len(rows) > 1:
        pending = [(len(rows) // 2, len(rows)), (0, len(rows) // 2)]
    while pending:
        start, end = pending.pop()
        try:
            with conn.begin_nested():
                results.append(write(rows[start:end]))
        except DATA_ERRORS as error:
            if end - start == 1:
                refused.append((start, server_message(error)))
                continue
            middle = (start + end) // 2
            pending += [(middle, end), (start, middle)]  # the first half is tried first
    refused.sort()
    return results, refused


def refused_records(sources: Sequence[Any] | Mapping[int, Any], refused: list[tuple[int, str]]
                    ) -> list[Rejected]:
    """The quarantine entries of the refused rows: ``sources[index]`` is the raw record."""
    return [Rejected(sources[at], WRITE_REJECTED, f"PostgreSQL refused the row: {message}")
            for at, message in refused]


def upsert_models(conn: Connection, rows: Sequence[Any],
                  write: Callable[[Sequence[Any]], UpsertResult],
                  sources: Sequence[Any] | None = None) -> tuple[UpsertResult, list[Rejected]]:
    """:func:`write_in_batches` of validated model rows whose ``write`` is an upsert: what it
    did in all, and the refused rows as ``write_rejected`` records: their raw records when
    ``sources`` (``validate_page(..., sources=)``) gives them, else the model's fields under
    their JSON names."""
    written, refused = write_in_batches(conn, rows, write)
    total = UpsertResult(sum(w.inserted for w in written), sum(w.updated for w in written))
    if sources is None:
        sources = {at: rows[at].model_dump(mode="json", by_alias=True) for at, _ in refused}
    return total, refused_records(sources, refused)
