"""Write imported order lines into the unified ``orders`` table and rebuild ``orders_daily`` for
the business days (``SUPPLYBRAIN_BUSINESS_TZ``) they touch, in the caller's transaction, with the
SQL the ``orders`` asset uses.

The lines come from the import's staging table (``stage.py``), chunk by chunk, each written by
one set-based statement. A chunk is first tried as a plain ``INSERT`` (``INSERT_NEW``; every
line new, the common case of a first import: about half of the database's work per line of the
upsert, which compares and inserts speculatively); when a key is already in ``orders`` the
insert fails whole (its savepoint is rolled back) and the chunk is upserted (``upsert_changed``,
which also says what it changed). After an upsert the next chunk is tried as an insert again
only when every line of that chunk was new. A file whose every chunk went in by plain insert
has no repeated key (the primary key said so), so its duplicate check is skipped
(``OrderWrites.keys_unique``). The days rebuilt are those of every line that is new or
changed: its new day and, when it moved, its old day; most are rebuilt while the file is
still read (``OrderWrites``: once a chunk no longer touches them), the rest at the end. The
``orders`` asset's advisory lock is held, so an import and a refresh never interleave.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cache

import psycopg
import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from supplybrain_pipelines.config import business_timezone_name
from supplybrain_pipelines.db.orders_rollup import rebuild_days
from supplybrain_pipelines.importer.report import Counts
from supplybrain_pipelines.importer.resolve import ORDER_COLUMNS
from supplybrain_pipelines.importer.stage import STAGE


@cache
def upsert_changed() -> str:
    """UPSERT_ORDERS of ``assets/unified.py`` (a line equal to the stored one is left alone)
    with the keys it wrote, whether each was new, and its day; then the day each changed line
    was on before (the statement's snapshot still has it), looked up by key for those lines
    only. Imported when first needed: ``assets.unified`` pulls in Dagster (about 0.4 s of
    start-up), which an import of new order lines does without."""
    from supplybrain_pipelines.assets.unified import UPSERT_ORDERS

    return f"""
WITH written AS (
{UPSERT_ORDERS[:UPSERT_ORDERS.rindex("RETURNING")]}
RETURNING (o.xmax = 0) AS is_new, o.channel, o.account_id, o.order_id,
          (o.ordered_at AT TIME ZONE :tz)::date AS day
), moved AS (
    SELECT (SELECT (p.ordered_at AT TIME ZONE :tz)::date FROM supplybrain.orders p
            WHERE p.channel = w.channel AND p.account_id = w.account_id
              AND p.order_id = w.order_id) AS day
    FROM written w WHERE NOT w.is_new
)
SELECT (SELECT count(*) FROM written), (SELECT count(*) FROM written WHERE is_new),
       ARRAY(SELECT day FROM written UNION SELECT day FROM moved WHERE day IS NOT NULL)
"""


_COLUMNS = ", ".join(ORDER_COLUMNS)
#: Lines that are all new: a plain insert, which fails whole on a key already in ``orders``.
INSERT_NEW = f"INSERT INTO supplybrain.orders ({_COLUMNS}) SELECT {_COLUMNS} FROM {{source}}"
#: The business days of the lines of ``{source}``.
SOURCE_DAYS = "SELECT DISTINCT (ordered_at AT TIME ZONE :tz)::date FROM {source}"


@dataclass
class OrderWrites:
    """Order lines written so far (in one or more parts of a file): new or changed lines,
    the new ones, and the business days touched. ``keys_unique``: every part went in by
    plain insert, so no key repeats in the file.

    The daily rollup of a touched day is rebuilt (``rebuild_days``) as soon as a part of the
    file does not touch it, once (``early``): in a file in time order, a day's lines are
    together, so most days are rolled up while the next part is read rather than at the end.
    A day touched again after that is rebuilt again by ``finish``, with every day still
    ``pending``; a file in no order rolls up at the end only, so each day costs at most two
    rebuilds."""

    changed: int = 0
    inserted: int = 0
    days: set[date] = field(default_factory=set)
    pending: set[date] = field(default_factory=set)  # touched since their last rebuild
    early: set[date] = field(default_factory=set)  # rebuilt once before the end
    keys_unique: bool = True
    try_insert: bool = True  # the next part is tried as a plain insert
    last: set[date] = field(default_factory=set)  # the days of the last part

    def write(self, conn: Connection, source: str, lines: int) -> None:
        """Write the ``lines`` lines of table ``source`` (ORDER_COLUMNS): a plain insert when
        none of their keys is in ``orders``, else an upsert (``upsert``)."""
        self._lock(conn)
        if self.try_insert:
            try:
                with conn.begin_nested():
                    conn.execute(sa.text(INSERT_NEW.format(source=source)))
            except IntegrityError as exc:
                if not isinstance(exc.orig, psycopg.errors.UniqueViolation):
                    raise
            else:
                self.changed += lines
                self.inserted += lines
                self._touched(set(conn.execute(sa.text(SOURCE_DAYS.format(source=source)),
                                               {"tz": business_timezone_name()}).scalars()))
                self._roll_up_early(conn)
                return
        self.keys_unique = False
        inserted = self.upsert(conn, source)
        self.try_insert = inserted == lines
        self._roll_up_early(conn)

    def _touched(self, days: set[date]) -> None:
        self.days |= days
        self.pending |= days
        self.last = days

    def _roll_up_early(self, conn: Connection) -> None:
        """Rebuild the pending days the last part did not touch, unless rebuilt early before."""
        ready = self.pending - self.last - self.early
        if ready:
            rebuild_days(conn, ready, business_timezone_name())
            self.pending -= ready
            self.early |= ready

    @staticmethod
    def _lock(conn: Connection) -> None:
        """The ``orders`` lock (a writer of ``orders`` waits for it), held until the
        transaction ends."""
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('supplybrain.orders'))"))

    def upsert(self, conn: Connection, source: str) -> int:
        """Upsert the lines of table ``source`` (ORDER_COLUMNS, distinct keys) under the
        ``orders`` lock; how many were new."""
        self._lock(conn)
        select = f"SELECT {_COLUMNS} FROM {source}"
        changed, inserted, days = conn.execute(sa.text(upsert_changed().replace(
            "{select}", select)), {"tz": business_timezone_name()}).one()
        self.changed += changed
        self.inserted += inserted
        self._touched(set(days))
        return inserted

    def finish(self, conn: Connection, lines: int) -> tuple[Counts, int]:
        """Rebuild the daily rollup of the pending days; the counts of a file of ``lines``
        lines and how many days were rebuilt (none when nothing changed)."""
        rebuild_days(conn, self.pending, business_timezone_name())
        counts = Counts(inserted=self.inserted, updated=self.changed - self.inserted,
                        unchanged=lines - self.changed)
        return counts, len(self.days)


def write_orders(conn: Connection, staged_rows: int) -> tuple[Counts, int]:
    """Upsert the order lines staged in ``STAGE`` (``staged_rows`` of them, distinct keys),
    then rebuild the daily rollup of the touched days."""
    writes = OrderWrites()
    writes.upsert(conn, STAGE)
    return writes.finish(conn, staged_rows)
