"""Write imported order lines into the unified ``orders`` table and rebuild ``orders_daily`` for
the business days (``SUPPLYBRAIN_BUSINESS_TZ``) they touch, in the caller's transaction, with the
SQL the ``orders`` asset uses.

The lines come from the import's staging table (``stage.py``), chunk by chunk, each written by
one set-based statement (``UPSERT_ORDERS``, which also says what it changed). The days rebuilt
are those of every line that is new or changed: its new day and, when it moved, its old day.
The ``orders`` asset's advisory lock is held, so an import and a refresh never interleave.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy import Connection

from supplybrain_pipelines.assets.unified import UPSERT_ORDERS
from supplybrain_pipelines.config import business_timezone_name
from supplybrain_pipelines.db.orders_rollup import rebuild_days
from supplybrain_pipelines.importer.report import Counts
from supplybrain_pipelines.importer.resolve import ORDER_COLUMNS
from supplybrain_pipelines.importer.stage import STAGE

#: UPSERT_ORDERS (a line equal to the stored one is left alone) with the keys it wrote, whether
#: each was new, and its day; then the day each changed line was on before (the statement's
#: snapshot still has it), looked up by key for those lines only.
UPSERT_CHANGED = f"""
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


@dataclass
class OrderWrites:
    """Order lines written so far (in one or more parts of a file): new or changed lines,
    the new ones, and the business days to rebuild."""

    changed: int = 0
    inserted: int = 0
    days: set[date] = field(default_factory=set)

    def upsert(self, conn: Connection, source: str) -> None:
        """Upsert the lines of table ``source`` (ORDER_COLUMNS, distinct keys) under the
        ``orders`` lock (taken by the first call, held until the transaction ends)."""
        tz = business_timezone_name()
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('supplybrain.orders'))"))
        select = f"SELECT {', '.join(ORDER_COLUMNS)} FROM {source}"
        changed, inserted, days = conn.execute(sa.text(UPSERT_CHANGED.replace(
            "{select}", select)), {"tz": tz}).one()
        self.changed += changed
        self.inserted += inserted
        self.days.update(days)

    def finish(self, conn: Connection, lines: int) -> tuple[Counts, int]:
        """Rebuild the daily rollup of the touched days; the counts of a file of ``lines``
        lines and how many days were rebuilt (none when nothing changed)."""
        rebuild_days(conn, self.days, business_timezone_name())
        counts = Counts(inserted=self.inserted, updated=self.changed - self.inserted,
                        unchanged=lines - self.changed)
        return counts, len(self.days)


def write_orders(conn: Connection, staged_rows: int) -> tuple[Counts, int]:
    """Upsert the order lines staged in ``STAGE`` (``staged_rows`` of them, distinct keys),
    then rebuild the daily rollup of the touched days."""
    writes = OrderWrites()
    writes.upsert(conn, STAGE)
    return writes.finish(conn, staged_rows)
