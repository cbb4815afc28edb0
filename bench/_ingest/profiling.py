"""The ingestion bench's profile of path A, run when A misses its target (or on request).

Owns :class:`InlineWriter` (the asset's ``PageWriter`` without its thread, since cProfile sees
one thread only) and :func:`profile_pipeline`: one A pass on the first page of each account
under cProfile, printed as the top functions by cumulative and by own time.
"""

from __future__ import annotations

import cProfile
import gc
import io
import pstats
import sys
from contextlib import ExitStack
from pathlib import Path

import sqlalchemy as sa
from _support.console import say

from _ingest.passes import reset, run_pipeline
from supplybrain_pipelines.assets.ingest import wb as wb_asset
from supplybrain_pipelines.resources.marketplace import WbPage
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse


class InlineWriter:
    """``PageWriter`` without the thread, for the profile: cProfile sees one thread only. A
    page's write runs when the next page is submitted (or at the end): by then all of its chunks
    are there."""

    def __init__(self, connect) -> None:
        self._connect = connect
        self._pending = None

    def __enter__(self) -> InlineWriter:
        self._opened = ExitStack()
        self._conn = self._opened.enter_context(self._connect())
        return self

    def _run_pending(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            write, then = pending
            with self._conn.begin():
                result = write(self._conn)
            then(result)

    def __exit__(self, *exc_info: object) -> None:
        try:
            if exc_info[0] is None:
                self._run_pending()
        finally:
            self._opened.close()

    def submit(self, write, then) -> None:
        self._run_pending()
        self._pending = (write, then)


def profile_pipeline(warehouse: PostgresWarehouse, engine: sa.Engine,
                     pages_by_account: dict[int, list[WbPage]]) -> None:
    reset(engine)
    subset = {account_id: pages[:1] for account_id, pages in pages_by_account.items()}
    rows = sum(len(p.records) for pages in subset.values() for p in pages)
    profiler = cProfile.Profile()
    gc.collect()
    saved = wb_asset.PageWriter
    wb_asset.PageWriter = InlineWriter  # writes inline, so that the profiler sees them
    try:
        profiler.enable()
        run_pipeline(warehouse, subset)
        profiler.disable()
    finally:
        wb_asset.PageWriter = saved
    for order, limit in (("cumulative", 15), ("tottime", 12)):
        buf = io.StringIO()
        stats = pstats.Stats(profiler, stream=buf)
        stats.sort_stats(order).print_stats(limit)
        text = buf.getvalue()
        body = text[text.index("   ncalls"):] if "   ncalls" in text else text
        say(f"--- cProfile of pipeline A on the first page of each account ({rows:,} rows), "
            f"writes inline (no overlap), top {limit} by {order} (the profiler inflates "
            "Python-heavy parts) ---")
        for line in body.rstrip().splitlines():
            say(line.replace(str(Path.cwd()) + "/", "").replace(sys.prefix + "/", ""))
        say()
