"""Write imported order lines into the unified ``orders`` table and rebuild ``orders_daily`` for
the business days (``SUPPLYBRAIN_BUSINESS_TZ``) they touch, in the caller's transaction, with the
SQL the ``orders`` asset uses.

The days rebuilt are those of every line that is new or changed: its new day and, when it
moved, its old day. The ``orders`` asset's advisory lock is held, so an import and a refresh
never interleave.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Connection

from supplybrain_pipelines.assets.unified import UPSERT_ORDERS
from supplybrain_pipelines.config import business_timezone_name
from supplybrain_pipelines.db.orders_rollup import rebuild_days
from supplybrain_pipelines.importer.report import Counts
from supplybrain_pipelines.importer.resolve import ORDER_COLUMNS, Resolved

STAGE = "_import_orders"
#: The columns the upsert compares (UPSERT_ORDERS: a row equal in these is left alone).
COMPARED = ("ordered_at", "item_key", "article_id", "bundle_type_id", "color_id", "size_id",
            "sku_unit_id", "quantity", "price", "is_cancelled", "cancelled_at", "last_change_at")
KEY = ("channel", "account_id", "order_id")

CHANGED = f"""
SELECT o.order_id IS NULL AS is_new, (s.ordered_at AT TIME ZONE :tz)::date AS new_day,
       (o.ordered_at AT TIME ZONE :tz)::date AS old_day
FROM {STAGE} s
LEFT JOIN supplybrain.orders o ON ({', '.join('o.' + k for k in KEY)})
                                = ({', '.join('s.' + k for k in KEY)})
WHERE o.order_id IS NULL
   OR ({', '.join('o.' + c for c in COMPARED)}) IS DISTINCT FROM
      ({', '.join('s.' + c for c in COMPARED)})
"""


def write_orders(conn: Connection, res: Resolved) -> tuple[Counts, int]:
    """Upsert the order lines, then rebuild the daily rollup of the touched days.

    Returns the counts and how many days were rebuilt (none when nothing changed)."""
    if list(res.columns) != list(ORDER_COLUMNS):
        raise ValueError("orders rows must have the columns of ORDER_COLUMNS")
    tz = business_timezone_name()
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('supplybrain.orders'))"))
    cols = ", ".join(ORDER_COLUMNS)
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:
        cur.execute(f"CREATE TEMP TABLE {STAGE} ON COMMIT DROP AS SELECT {cols} "
                    "FROM supplybrain.orders WITH NO DATA")
        with cur.copy(f"COPY {STAGE} ({cols}) FROM STDIN") as copy:
            for row in res.rows:
                copy.write_row(row)
    changed = conn.execute(sa.text(CHANGED), {"tz": tz}).all()
    inserted = sum(1 for c in changed if c.is_new)
    days = {c.new_day for c in changed} | {c.old_day for c in changed if c.old_day is not None}
    if changed:
        conn.execute(sa.text(UPSERT_ORDERS.format(select=f"SELECT {cols} FROM {STAGE}")),
                     {"tz": tz})
    rebuild_days(conn, days, tz)
    conn.execute(sa.text(f"DROP TABLE {STAGE}"))
    counts = Counts(inserted=inserted, updated=len(changed) - inserted,
                    unchanged=len(res.rows) - len(changed))
    return counts, len(days)
