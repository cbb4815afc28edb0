"""Write imported order lines into the unified ``orders`` table and rebuild ``orders_daily`` for
the business days (``SUPPLYBRAIN_BUSINESS_TZ``) they touch, in the caller's transaction, with the
SQL the ``orders`` asset uses.

The lines come from the import's staging table (``stage.py``), so a file of any size is written
by two set-based statements (what changed, then ``UPSERT_ORDERS``). The days rebuilt are those
of every line that is new or changed: its new day and, when it moved, its old day. The
``orders`` asset's advisory lock is held, so an import and a refresh never interleave.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Connection

from supplybrain_pipelines.assets.unified import UPSERT_ORDERS
from supplybrain_pipelines.config import business_timezone_name
from supplybrain_pipelines.db.orders_rollup import rebuild_days
from supplybrain_pipelines.importer.report import Counts
from supplybrain_pipelines.importer.resolve import ORDER_COLUMNS
from supplybrain_pipelines.importer.stage import STAGE

#: The columns the upsert compares (UPSERT_ORDERS: a row equal in these is left alone).
COMPARED = ("ordered_at", "item_key", "article_id", "bundle_type_id", "color_id", "size_id",
            "sku_unit_id", "quantity", "price", "is_cancelled", "cancelled_at", "last_change_at")
KEY = ("channel", "account_id", "order_id")

#: How many staged lines are new or changed, and the days they are on (and moved from).
CHANGED = f"""
WITH changed AS (
    SELECT o.order_id IS NULL AS is_new, (s.ordered_at AT TIME ZONE :tz)::date AS new_day,
           (o.ordered_at AT TIME ZONE :tz)::date AS old_day
    FROM {STAGE} s
    LEFT JOIN supplybrain.orders o ON ({', '.join('o.' + k for k in KEY)})
                                    = ({', '.join('s.' + k for k in KEY)})
    WHERE o.order_id IS NULL
       OR ({', '.join('o.' + c for c in COMPARED)}) IS DISTINCT FROM
          ({', '.join('s.' + c for c in COMPARED)})
)
SELECT (SELECT count(*) FROM changed), (SELECT count(*) FROM changed WHERE is_new),
       ARRAY(SELECT new_day FROM changed UNION SELECT old_day FROM changed
             WHERE old_day IS NOT NULL)
"""


def write_orders(conn: Connection, staged_rows: int) -> tuple[Counts, int]:
    """Upsert the order lines staged in ``STAGE`` (``staged_rows`` of them, every column of
    ORDER_COLUMNS, distinct keys), then rebuild the daily rollup of the touched days.

    Returns the counts and how many days were rebuilt (none when nothing changed)."""
    tz = business_timezone_name()
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('supplybrain.orders'))"))
    changed, inserted, days = conn.execute(sa.text(CHANGED), {"tz": tz}).one()
    if changed:
        upsert = UPSERT_ORDERS.format(select=f"SELECT {', '.join(ORDER_COLUMNS)} FROM {STAGE}")
        conn.execute(sa.text(f"WITH upserted AS ({upsert}) SELECT count(*) FROM upserted"),
                     {"tz": tz})
    rebuild_days(conn, days, tz)
    counts = Counts(inserted=inserted, updated=changed - inserted,
                    unchanged=staged_rows - changed)
    return counts, len(days)
