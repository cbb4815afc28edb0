"""Writing validated pages of an incremental feed: stale check, bulk write, quarantine, cursor.

``write_page`` is one page's transaction: rows older than the stored version are quarantined as
stale duplicates, rows with new keys are COPYed straight into the table (one COPY for the page,
fed chunk by chunk), the others go through the upsert (which leaves unchanged rows alone), then
the quarantine, the unmatched barcodes and the cursor move, all committed together.

The asset's thread validates a page in chunks (``split_page``, ``check_page``);
``PageWriter`` runs the page's write in a background thread, which takes the chunks as they
come (``PageChunks``). So PostgreSQL writes one chunk while Python validates the next, and pages
are written one at a time, in order.

The page's write runs under a savepoint and keeps the chunks it took. If PostgreSQL refuses the
page for a data reason, it is written again from them in bisected batches (``_fallback``), so
only the refused rows are left out (quarantined as ``write_rejected``) and the cursor moves on.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from queue import SimpleQueue
from typing import Any, TypeVar

from sqlalchemy import Connection, String, Table, Text, any_, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY

from supplybrain_pipelines.assets.ingest._fallback import (
    DATA_ERRORS,
    refused_records,
    write_in_batches,
)
from supplybrain_pipelines.assets.ingest.state import advance_cursor, note_unmatched, quarantine
from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.logic.records import Rejected
from supplybrain_pipelines.logic.records_fast import CheckedPage, FastModel
from supplybrain_pipelines.resources.marketplace import Account
from supplybrain_pipelines.resources.warehouse import NewRowsCopy, bulk_upsert, quoted_name

#: Joins text keys into one parameter (PostgreSQL splits it again): far cheaper than binding an
#: array of 80 000 strings. Keys that contain it are bound as an array instead.
_SEPARATOR = "\x1f"


def stored_versions(conn: Connection, table: Table, key: str, keys: list[Any],
                    version: str = "last_change_at") -> dict[Any, datetime]:
    """``key → version`` of the stored rows among ``keys``, in one statement with one parameter
    (a WB page may hold 80 000 keys; PostgreSQL allows 65 535 bind parameters)."""
    if not keys:
        return {}
    column = table.c[key]
    if isinstance(column.type, String):
        joined = _SEPARATOR.join(keys)
        if joined and joined.count(_SEPARATOR) == len(keys) - 1:  # ("" alone splits to {})
            # = ANY(array): an index scan for a few keys, a hashed filter for many.
            query = text(f'SELECT "{key}", "{version}" FROM {quoted_name(table)} '
                         f"WHERE \"{key}\" = ANY(string_to_array(:keys, E'\\x1f'))")
            return dict(conn.execute(query, {"keys": joined}).all())
    wanted = bindparam("keys", keys, type_=ARRAY(column.type))
    return dict(conn.execute(select(column, table.c[version]).where(column == any_(wanted))).all())


def unmatched_wb_barcodes(conn: Connection, barcodes: set[str]) -> dict[str, str]:
    """The barcodes that ``article_wb_mapping`` does not know, each with why. Their rows are
    kept (a valid order of an unmapped item still counts); they are listed as unmatched."""
    if not barcodes:
        return {}
    wanted = bindparam("barcodes", list(barcodes), type_=ARRAY(Text))
    known = set(conn.execute(select(t.article_wb_mapping.c.wb_sku).where(
        t.article_wb_mapping.c.wb_sku == any_(wanted))).scalars())
    return {b: "WB barcode not in article_wb_mapping" for b in barcodes - known}


@dataclass(frozen=True)
class Feed:
    """An incremental WB feed: how its records are validated and where its rows go."""

    endpoint: str
    model: FastModel
    table: Table
    #: Table columns in the order of a checked row: ``model.fields``, then ``account_id``.
    columns: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.columns) != len(self.model.fields) + 1 or self.columns[-1] != "account_id":
            raise ValueError(f"{self.endpoint}: columns must match the model's fields + account")

    @property
    def key(self) -> str:
        return self.model.key


@dataclass(frozen=True)
class PageWritten:
    """What one committed page did."""

    rows: int
    inserted: int
    updated: int
    quarantined: int
    unmatched: int


#: A page is validated and written in chunks of this many records, so that its write starts
#: (in the same transaction) before the asset's thread has validated all of it.
CHUNK_ROWS = 10_000


def _json_key(feed: Feed) -> str:
    return feed.model.model.model_fields[feed.key].alias or feed.key


def split_page(records: list, feed: Feed) -> tuple[frozenset, list[list]]:
    """The keys that the raw ``records`` carry under the key's JSON name (valid or not), for
    the page's one look-up of stored versions, and ``records`` in chunks of ``CHUNK_ROWS``.
    One pass over the page does both.

    The page stays whole when a key comes twice (keeping the newest of a key takes the whole
    page) or under its Python name (pydantic's ``populate_by_name``), so that every key of a
    chunk is new to the chunks before it."""
    name, json_name = feed.key, _json_key(feed)
    seen: set[str] = set()
    whole = False
    for record in records:
        if type(record) is not dict:
            continue
        key = record.get(json_name)
        if type(key) is str:
            if key in seen:
                whole = True
            seen.add(key)
        if json_name != name and name in record:
            whole = True
    if whole or len(records) <= CHUNK_ROWS:
        return frozenset(seen), [records]
    return frozenset(seen), [records[at:at + CHUNK_ROWS]
                             for at in range(0, len(records), CHUNK_ROWS)]


def _split(feed: Feed, chunk: CheckedPage, stored: dict[Any, datetime]
           ) -> tuple[list[int], list[int], list[Rejected]]:
    """Row indexes by what ``stored`` says: (new, existing and not older), and the stale
    records, each in page order."""
    key_at, version_at = feed.model.key_index, feed.model.version_index
    new, existing, stale = [], [], []
    for at, row in enumerate(chunk.rows):
        known = stored.get(row[key_at])
        if known is None:
            new.append(at)
        elif row[version_at] < known:
            stale.append(Rejected(chunk.sources[at], "stale_duplicate",
                                  f"{feed.key}: the stored record changed later "
                                  f"({known.isoformat()})"))
        else:
            existing.append(at)
    return new, existing, stale


def _close_copy(copying: NewRowsCopy, later: list[tuple]) -> int:
    """Close ``copying``: the rows it inserted. If one of their keys was there after all, it
    inserted none, and its rows join ``later``, the upsert (which counts them as it finds them)."""
    copied = copying.close()
    if copied is None:
        later[:0] = copying.written
        return 0
    return copied


def write_page(conn: Connection, feed: Feed, account: Account,
               page: CheckedPage | PageChunks, run_id: str | None) -> PageWritten:
    """One page in the caller's transaction, from its checked chunks as they come, under a
    savepoint (``_write_streamed``). The chunks are kept as they pass, so that if PostgreSQL
    refuses the page for a data reason (``_fallback.DATA_ERRORS``), the savepoint is rolled
    back, the rest of the chunks is taken, and the page is written again in batches that
    leave out only the rows PostgreSQL refuses (``_write_in_batches``)."""
    if isinstance(page, CheckedPage):
        keys = frozenset(row[feed.model.key_index] for row in page.rows)
        parts: Iterable[CheckedPage] = (page,)
    else:
        keys, parts = page.keys, page
    seen: list[CheckedPage] = []

    def remembered() -> Iterator[CheckedPage]:
        for checked in parts:
            seen.append(checked)
            yield checked

    chunks = remembered()
    try:
        with conn.begin_nested():
            return _write_streamed(conn, feed, account, keys, chunks, run_id)
    except DATA_ERRORS:
        for _ in chunks:  # the chunks not yet taken (PageAbandoned if the page was given up)
            pass
        return _write_in_batches(conn, feed, account, seen, run_id)


def _write_in_batches(conn: Connection, feed: Feed, account: Account,
                      chunks: list[CheckedPage], run_id: str | None) -> PageWritten:
    """A page PostgreSQL refused, again: its kept rows upserted by ``write_in_batches``, which
    leaves out only the rows refused on their own; those are quarantined as
    ``write_rejected`` with the stale and rejected records, and the cursor moves past them
    all (they are in the quarantine; reading them again would fail again)."""
    page = CheckedPage()
    for checked in chunks:
        page.rows += checked.rows
        page.sources += checked.sources
        page.versions_raw += checked.versions_raw
        page.rejected += checked.rejected
    key_at, version_at = feed.model.key_index, feed.model.version_index
    stored = stored_versions(conn, feed.table, feed.key,
                             list({row[key_at] for row in page.rows}))
    new_at, existing_at, stale = _split(feed, page, stored)
    kept_at = sorted(new_at + existing_at)
    written, refused = write_in_batches(
        conn, [page.rows[at] for at in kept_at],
        lambda batch: bulk_upsert(conn, feed.table, feed.columns, batch, [feed.key]),
        refused_whole=True)
    refused_at = {kept_at[at] for at, _ in refused}
    rejected = page.rejected + stale + refused_records(
        [page.sources[at] for at in kept_at], refused)
    quarantined = quarantine(conn, account, f"wb/{feed.endpoint}", rejected, run_id)
    pick_barcode = itemgetter(feed.model.fields.index("barcode"))
    unmatched = unmatched_wb_barcodes(conn, {pick_barcode(page.rows[at]) for at in kept_at
                                             if at not in refused_at})
    note_unmatched(conn, "wb", account, unmatched)
    if kept_at:
        newest = max(kept_at, key=lambda at: (page.rows[at][version_at], -at))  # first newest
        advance_cursor(conn, account, feed.endpoint, page.versions_raw[newest],
                       page.rows[newest][version_at])
    return PageWritten(len(kept_at), sum(w.inserted for w in written),
                       sum(w.updated for w in written), quarantined, len(unmatched))


def _write_streamed(conn: Connection, feed: Feed, account: Account, keys: frozenset,
                    parts: Iterable[CheckedPage], run_id: str | None) -> PageWritten:
    """One page in the caller's transaction, from its checked chunks as they come: nothing of
    it is written unless all of it is. The stored versions of the page's keys are read first;
    rows older than them are stale. Rows with new keys stream into one binary COPY for the
    page as the chunks come (``NewRowsCopy``), each chunk in key order (the primary key index
    then takes them leaf by leaf, which spares PostgreSQL about a fifth of its work per row);
    the others are upserted at the end (unchanged rows are left alone). Then the rejected and
    stale records are quarantined, the unmatched barcodes noted and the cursor moved."""
    key_at, version_at = feed.model.key_index, feed.model.version_index
    by_key, by_version = itemgetter(key_at), itemgetter(version_at)
    stored = stored_versions(conn, feed.table, feed.key, list(keys))
    pick_barcode = itemgetter(feed.model.fields.index("barcode"))
    inserted, later, rejected, stale, barcodes = 0, [], [], [], set()
    newest: tuple | None = None  # (row, raw version) of the first newest kept row
    kept = 0
    with NewRowsCopy(conn, feed.table, feed.columns) as copying:
        for checked in parts:
            rows = checked.rows
            if not keys.issuperset(map(by_key, rows)):  # a key under another name than JSON's
                inserted += _close_copy(copying, later)  # (no statement during a COPY)
                stored |= stored_versions(conn, feed.table, feed.key,
                                          [key for key in map(by_key, rows) if key not in keys])
            new_rows, kept_at = rows, range(len(rows))
            if stored and not stored.keys().isdisjoint(map(by_key, rows)):
                new_at, existing_at, part_stale = _split(feed, checked, stored)
                new_rows = [rows[at] for at in new_at]
                later += [rows[at] for at in existing_at]
                stale += part_stale
                kept_at = sorted(new_at + existing_at)
            if new_rows:
                copying.write(sorted(new_rows, key=by_key))
            rejected += checked.rejected
            kept_rows = rows if len(kept_at) == len(rows) else [rows[at] for at in kept_at]
            if kept_rows:
                kept += len(kept_rows)
                barcodes.update(map(pick_barcode, kept_rows))
                versions = list(map(by_version, kept_rows))
                at = kept_at[versions.index(max(versions))]  # the first newest
                if newest is None or rows[at][version_at] > newest[0][version_at]:
                    newest = (rows[at], checked.versions_raw[at])
        inserted += _close_copy(copying, later)
    updated = 0
    if later:
        upserted = bulk_upsert(conn, feed.table, feed.columns, later, [feed.key])
        inserted, updated = inserted + upserted.inserted, upserted.updated
    quarantined = quarantine(conn, account, f"wb/{feed.endpoint}", rejected + stale, run_id)
    unmatched = unmatched_wb_barcodes(conn, barcodes)
    note_unmatched(conn, "wb", account, unmatched)
    if newest is not None:
        advance_cursor(conn, account, feed.endpoint, newest[1], newest[0][version_at])
    return PageWritten(kept, inserted, updated, quarantined, len(unmatched))


class PageAbandoned(Exception):
    """The asset's thread gave up a page (it failed) before all of its chunks were ready."""


class PageChunks:
    """The checked chunks of one page, handed from the asset's thread to the page's write in
    the writer thread as they are ready, with the keys of the whole page (``split_page``) for
    one look-up. ``abort()`` makes the write fail (and roll back), so a page is never committed
    without all of its chunks."""

    _END, _ABORT = object(), object()

    def __init__(self, keys: frozenset) -> None:
        self.keys = keys
        self._queue: SimpleQueue = SimpleQueue()

    def put(self, chunk: CheckedPage) -> None:
        self._queue.put(chunk)

    def close(self) -> None:
        self._queue.put(self._END)

    def abort(self) -> None:
        self._queue.put(self._ABORT)

    def __iter__(self) -> Iterator[CheckedPage]:
        while (chunk := self._queue.get()) is not self._END:
            if chunk is self._ABORT:
                raise PageAbandoned("the page was given up before all of it was prepared")
            yield chunk


T = TypeVar("T")


class PageWriter:
    """Runs page writes in one background thread, strictly one after another, each in a
    transaction of its own on one connection (``connect()``, opened on first use), while the
    caller prepares the next pages.

    ``submit(write, then)`` queues a write; up to ``ahead`` pages may wait behind the one being
    written (so the caller validates the next page while the writer is still busy with the one
    before, and holds at most ``ahead + 2`` pages in memory). The ``then`` of each finished
    write is called in the caller's thread, in page order, at the next ``submit`` or when the
    ``with`` block ends; a failed write's error is raised there instead. Once a write fails, the
    writes queued behind it do nothing (they raise :class:`PageAbandoned`), so no page is
    written after a failed one and the caller stops at the error. Leaving the ``with`` block
    waits for every queued write, also when the caller leaves with an error (a failed fetch):
    the pages already handed over commit or fail as they would have without the overlap.
    """

    def __init__(self, connect: Callable[[], AbstractContextManager[Connection]], *,
                 ahead: int = 1) -> None:
        if ahead < 0:
            raise ValueError(f"ahead must be >= 0, not {ahead}")
        self._connect = connect
        self._ahead = ahead
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-page-writer")
        self._pending: deque[tuple[Future, Callable[[Any], None]]] = deque()
        self._opened = ExitStack()  # the writer thread's connection
        self._conn: Connection | None = None
        self._failed = False  # set (in the writer thread) when a write fails

    def submit(self, write: Callable[[Connection], T], then: Callable[[T], None]) -> None:
        self._collect(keep=self._ahead)
        self._pending.append((self._pool.submit(self._write, write), then))

    def _write(self, write: Callable[[Connection], T]) -> T:
        if self._failed:
            raise PageAbandoned("a page before this one failed to write")
        try:
            if self._conn is None:
                self._conn = self._opened.enter_context(self._connect())
            with self._conn.begin():
                return write(self._conn)
        except BaseException:
            self._failed = True
            raise

    def _collect(self, keep: int) -> None:
        """Hand the finished writes to their ``then``, in order, waiting for the oldest ones
        until at most ``keep`` are unfinished."""
        while self._pending and (len(self._pending) > keep or self._pending[0][0].done()):
            future, then = self._pending.popleft()
            then(future.result())

    def __enter__(self) -> PageWriter:
        return self

    def __exit__(self, kind: type | None, error: BaseException | None, tb: object) -> None:
        try:
            first: BaseException | None = None
            while self._pending:  # wait for all of them, whatever happened
                try:
                    self._collect(keep=len(self._pending) - 1)
                except BaseException as failed:
                    first = first or failed
            if first is not None and not (isinstance(first, PageAbandoned) and error is not None):
                raise first  # (abandoned pages come with an error of the caller's, raised instead)
        finally:
            try:
                self._pool.submit(self._opened.close).result()
            finally:
                self._pool.shutdown(wait=True)
