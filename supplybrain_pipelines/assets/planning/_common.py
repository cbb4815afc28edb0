"""What the planning assets share: the group, the as-of date, the active SKU units, plain COPYs
of computed rows or text blocks, and a pause of the cyclic garbage collector for their
per-SKU loops."""

import gc
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

import dagster as dg
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy import Connection, Table

from supplybrain_pipelines.config import business_today

GROUP = "planning"

#: SKU units that planning covers: those of articles not switched off in either settings table.
ACTIVE_SKUS = """
SELECT su.id AS sku_unit_id, su.article_id, su.color_id, su.size_id
FROM supplybrain.sku_unit su
WHERE NOT EXISTS (SELECT 1 FROM supplybrain.planning_settings ps
                  WHERE ps.article_id = su.article_id AND NOT ps.is_active)
  AND NOT EXISTS (SELECT 1 FROM supplybrain.article_planning_settings aps
                  WHERE aps.article_id = su.article_id AND NOT aps.include_in_planning)
"""

#: Articles that planning covers (``ACTIVE_SKUS``' rule, per article).
ACTIVE_ARTICLES = """
SELECT ar.id AS article_id FROM supplybrain.article ar
WHERE NOT EXISTS (SELECT 1 FROM supplybrain.planning_settings ps
                  WHERE ps.article_id = ar.id AND NOT ps.is_active)
  AND NOT EXISTS (SELECT 1 FROM supplybrain.article_planning_settings aps
                  WHERE aps.article_id = ar.id AND NOT aps.include_in_planning)"""


class PlanningConfig(dg.Config):
    """Run config of the planning assets."""

    as_of: str | None = None
    """The as-of day (YYYY-MM-DD, a business day) the windows end at; default: today in the
    business time zone (SUPPLYBRAIN_BUSINESS_TZ, Europe/Moscow by default)."""
    window_days: int = 30
    """Length of the demand window in days."""


def as_of_date(config: PlanningConfig) -> date:
    """The configured as-of day, else today in the business time zone."""
    return date.fromisoformat(config.as_of) if config.as_of else business_today()


def _copy_from_stdin(table: Table, columns: Sequence[str]) -> str:
    """``COPY schema.table ("col", …) FROM STDIN``."""
    target = f"{table.schema}.{table.name}" if table.schema else table.name
    cols = ", ".join(f'"{column}"' for column in columns)
    return f"COPY {target} ({cols}) FROM STDIN"


def copy_rows(conn: Connection, table: Table, columns: Sequence[str],
              rows: Iterable[Sequence[Any]]) -> int:
    """COPY ``rows`` (tuples in the order of ``columns``) straight into ``table``.

    For tables the caller has just emptied, or rows under a key nobody else writes (a new run
    id): there is nothing to upsert against, so the temp table and ``INSERT … ON CONFLICT`` of
    ``bulk_upsert`` would only double the server's work. A duplicate key still fails the
    statement, and with it the caller's transaction. Returns the number of rows written.
    """
    raw = conn.connection.driver_connection  # psycopg 3, inside the caller's transaction
    count = 0
    with raw.cursor() as cur, cur.copy(_copy_from_stdin(table, columns)) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def copy_text(conn: Connection, table: Table, columns: Sequence[str],
              blocks: Iterable[str]) -> None:
    """COPY ``blocks`` (COPY text format, whole lines) into ``table`` inside the caller's
    transaction, under the same rules as :func:`copy_rows`. A psycopg worker thread sends the
    data (``QueuedLibpqWriter``), so the next block is made while the server parses the last
    one (for proposals, the server's JSONB parsing takes longest; the two run on two cores)."""
    raw = conn.connection.driver_connection  # psycopg 3
    with raw.cursor() as cur, cur.copy(_copy_from_stdin(table, columns),
                                       writer=QueuedLibpqWriter(cur)) as copy:
        for block in blocks:
            copy.write(block)


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a bulk computation, then restore it.

    The per-SKU loops allocate millions of small dicts, lists and tuples that reference
    counting frees; none form cycles. Each allocation burst still triggers collections that
    walk every live object of the process (Dagster's included), which cost about a third of
    the loops' time. Cycles made meanwhile are collected once the collector is back on.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
