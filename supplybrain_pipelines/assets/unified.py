"""Unified facts: ``orders`` (every channel, mapped to SKU units or bundles), its daily rollup
``orders_daily``, and current ``stock``. Set-based SQL; each asset owns the tables it names.

``orders`` is refreshed incrementally: raw rows stamped (``ingested_at``) at or after the
watermark, plus rows that were unmatched and may map now. Both are found through indexes (the
BRIN index on ``ingested_at``, the raw table's key for the unmatched lines' order ids), never by
a scan of the whole order history. ``orders_daily`` is recomputed only for the days those rows
touch (a line whose business day moved: its old day too), in the same transaction, so the two
never disagree. A day is a calendar day in the business time zone (``SUPPLYBRAIN_BUSINESS_TZ``,
default Europe/Moscow; ``db/orders_rollup.py``).

The watermark does not rely on Dagster's one-run queue. ``ingested_at`` is the writing
transaction's start (``now()``), and a page can commit long after it began, so the next
watermark is not this refresh's start but the start of the oldest transaction still open in the
database when the refresh reads (``next_watermark``): a row this refresh cannot see yet was
written by such a transaction, or by one that began later, and the next refresh reads it. Rows
read twice are harmless (the upsert changes only what differs). Refreshes serialise on an
advisory lock, which ``supplybrain import`` takes too.
"""

from datetime import UTC, datetime, timedelta

import dagster as dg
from sqlalchemy import func, select, text

from supplybrain_pipelines.assets._metadata import OWNERS, table_metadata
from supplybrain_pipelines.config import business_timezone_name
from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.db.orders_rollup import rebuild_days
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse

GROUP = "ingest"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Taken off the oldest open transaction's start: a backend publishes its transaction's start
#: just after fixing it, and a clock step back of the server stays covered up to this.
WATERMARK_MARGIN = timedelta(seconds=5)

#: Open transactions of this database's client sessions: the oldest start, and how many
#: sessions of other roles hide theirs (pg_stat_activity shows them only to members of the
#: role or of pg_read_all_stats). Read once the lock is held and before any raw table: PostgreSQL
#: keeps a transaction's view of pg_stat_activity from its first read of it.
OPEN_TRANSACTIONS = """
SELECT min(xact_start), count(*) FILTER (WHERE query = '<insufficient privilege>')
FROM pg_stat_activity
WHERE datname = current_database() AND backend_type = 'client backend'
"""


def next_watermark(previous: datetime, oldest_open_start: datetime | None,
                   hidden_sessions: int, margin: timedelta = WATERMARK_MARGIN) -> datetime:
    """The watermark after a refresh that read every raw row stamped at or after ``previous``.

    ``oldest_open_start`` is the start of the oldest transaction open in the database when the
    refresh began to read (its own included, so there always is one). A raw row the refresh did
    not see was committed later by a transaction open then, or begun after: either way its
    ``ingested_at`` (its transaction's start) is not before that start, so the next refresh
    reads from there, less ``margin``. While sessions of other roles hide their transactions
    (``hidden_sessions``), or when no start is known (``track_activities`` off), nothing is known
    about them, and the watermark stays at ``previous``.
    """
    if hidden_sessions or oldest_open_start is None:
        return previous
    return oldest_open_start - margin


UPSERT_ORDERS = """
INSERT INTO supplybrain.orders AS o (channel, account_id, order_id, ordered_at, item_key,
    barcode, article_id, bundle_type_id, color_id, size_id, sku_unit_id, quantity, price,
    is_cancelled, cancelled_at, last_change_at)
{select}
ON CONFLICT (channel, account_id, order_id) DO UPDATE SET
    ordered_at = EXCLUDED.ordered_at, item_key = EXCLUDED.item_key, barcode = EXCLUDED.barcode,
    article_id = EXCLUDED.article_id, bundle_type_id = EXCLUDED.bundle_type_id,
    color_id = EXCLUDED.color_id, size_id = EXCLUDED.size_id,
    sku_unit_id = EXCLUDED.sku_unit_id, quantity = EXCLUDED.quantity, price = EXCLUDED.price,
    is_cancelled = EXCLUDED.is_cancelled, cancelled_at = EXCLUDED.cancelled_at,
    last_change_at = EXCLUDED.last_change_at
WHERE (o.ordered_at, o.item_key, o.article_id, o.bundle_type_id, o.color_id, o.size_id,
       o.sku_unit_id, o.quantity, o.price, o.is_cancelled, o.cancelled_at, o.last_change_at)
      IS DISTINCT FROM
      (EXCLUDED.ordered_at, EXCLUDED.item_key, EXCLUDED.article_id, EXCLUDED.bundle_type_id,
       EXCLUDED.color_id, EXCLUDED.size_id, EXCLUDED.sku_unit_id, EXCLUDED.quantity,
       EXCLUDED.price, EXCLUDED.is_cancelled, EXCLUDED.cancelled_at, EXCLUDED.last_change_at)
RETURNING (o.ordered_at AT TIME ZONE :tz)::date AS day
"""

#: UPSERT_ORDERS with the number of lines it wrote (new or changed) and the business days to
#: roll up again: each written line's day, and the day a changed line was on before (the
#: statement's snapshot still holds the stored row), so a line that moved leaves no stale day.
UPSERT_ORDERS_DAYS = f"""
WITH written AS (
{UPSERT_ORDERS[:UPSERT_ORDERS.rindex("RETURNING")]}
RETURNING o.channel, o.account_id, o.order_id, (o.ordered_at AT TIME ZONE :tz)::date AS day
), before AS (
    SELECT (SELECT (p.ordered_at AT TIME ZONE :tz)::date FROM supplybrain.orders p
            WHERE p.channel = w.channel AND p.account_id = w.account_id
              AND p.order_id = w.order_id) AS day
    FROM written w
)
SELECT (SELECT count(*) FROM written),
       ARRAY(SELECT day FROM written UNION SELECT day FROM before WHERE day IS NOT NULL)
"""

#: One WB order row is one unit. A barcode maps to an article's bundle type in a size, or to a
#: single piece (colour set, bundle type NULL), which is a SKU unit.
WB_ORDERS = """
SELECT DISTINCT ON (w.srid) 'wb', w.account_id, w.srid, w.ordered_at, w.barcode, w.barcode,
       m.article_id, m.bundle_type_id, m.color_id, m.size_id, su.id, 1, w.price_with_disc,
       w.is_cancel, w.cancelled_at, w.last_change_at
FROM supplybrain.wb_orders w
LEFT JOIN supplybrain.article_wb_mapping m ON m.wb_sku = w.barcode
LEFT JOIN supplybrain.sku_unit su ON m.bundle_type_id IS NULL AND su.article_id = m.article_id
     AND su.color_id = m.color_id AND su.size_id = m.size_id
WHERE w.ingested_at >= :watermark
   OR w.srid = ANY (ARRAY(SELECT order_id FROM supplybrain.orders
                          WHERE channel = 'wb' AND article_id IS NULL))
ORDER BY w.srid, m.id
"""

#: One MoySklad position is one order line; an order not posted (applicable = false), in the
#: recycle bin or in a cancelled state counts as cancelled (``ms_customer_orders.is_cancelled``,
#: set by ``assets/ingest/moysklad.py``).
MS_POSITIONS = """
SELECT 'moysklad', c.account_id, p.id, c.moment_at, p.assortment_id, NULL,
       su.article_id, NULL::int, su.color_id, su.size_id, su.id, p.quantity, p.price,
       c.is_cancelled, NULL::timestamptz, c.updated_at_source
FROM supplybrain.ms_order_positions p
JOIN supplybrain.ms_customer_orders c ON c.id = p.order_id
LEFT JOIN supplybrain.ms_assortment a ON a.id = p.assortment_id
LEFT JOIN supplybrain.sku_unit su ON su.id = a.sku_unit_id
WHERE p.ingested_at >= :watermark OR c.ingested_at >= :watermark
   OR a.ingested_at >= :watermark
"""

#: An ingested MoySklad line whose position left its order goes too. Lines loaded by
#: ``supplybrain import`` (item key ``sku:…``) have no raw position and are kept.
DROP_REMOVED_POSITIONS = """
DELETE FROM supplybrain.orders o
WHERE o.channel = 'moysklad' AND o.item_key NOT LIKE 'sku:%'
  AND NOT EXISTS (SELECT 1 FROM supplybrain.ms_order_positions p WHERE p.id = o.order_id)
RETURNING (o.ordered_at AT TIME ZONE :tz)::date AS day
"""


@dg.multi_asset(
    specs=[
        dg.AssetSpec("orders", group_name=GROUP, owners=OWNERS, kinds={"postgres"},
                     deps=["wb_orders", "moysklad_customer_orders", "moysklad_assortment"],
                     description="Every order line of every channel in UTC, mapped to a SKU "
                     "unit (single piece) or to an article's bundle type and size; unmatched "
                     "lines keep NULL mappings and are listed in unmatched_items.",
                     code_version="1"),
        dg.AssetSpec("orders_daily", group_name=GROUP, owners=OWNERS, kinds={"postgres"},
                     deps=["orders"], code_version="2",
                     description="Daily rollup of orders per business day (calendar day in "
                     "SUPPLYBRAIN_BUSINESS_TZ, default Europe/Moscow), channel, account and "
                     "item: units ordered, cancelled and net, and revenue. Demand reads this."),
    ],
)
def orders_and_rollup(context: dg.AssetExecutionContext, warehouse: PostgresWarehouse):
    w = t.refresh_watermarks.c
    tz = business_timezone_name()
    with warehouse.transaction() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('supplybrain.orders'))"))
        oldest_open, hidden = conn.execute(text(OPEN_TRANSACTIONS)).one()
        watermark = conn.execute(select(w.watermark).where(w.target == "orders")
                                 ).scalar_one_or_none() or EPOCH
        days: set = set()
        changed = 0
        for source in (WB_ORDERS, MS_POSITIONS):
            written, written_days = conn.execute(text(UPSERT_ORDERS_DAYS.format(select=source)),
                                                 {"watermark": watermark, "tz": tz}).one()
            changed += written
            days.update(written_days)
        removed = conn.execute(text(DROP_REMOVED_POSITIONS), {"tz": tz}).scalars().all()
        days.update(removed)
        rebuild_days(conn, days, tz)
        following = next_watermark(watermark, oldest_open, hidden)
        conn.execute(text(
            "INSERT INTO supplybrain.refresh_watermarks (target, watermark) "
            "VALUES ('orders', :mark) ON CONFLICT (target) DO UPDATE SET watermark = :mark"),
            {"mark": following})
        unmatched = conn.execute(select(func.count()).select_from(t.orders).where(
            t.orders.c.article_id.is_(None))).scalar_one()
    if hidden or oldest_open is None:
        context.log.warning("orders: pg_stat_activity does not show every open transaction "
                            f"({hidden} sessions of other roles, or track_activities is off); "
                            "the watermark stays where it was")
    context.log.info(f"orders: {changed} changed, {len(removed)} removed, "
                     f"{len(days)} days rolled up (since {watermark.isoformat()}; "
                     f"next from {following.isoformat()})")
    yield dg.MaterializeResult(asset_key="orders", metadata=table_metadata(
        warehouse, t.orders, changed=changed, removed=len(removed), unmatched_lines=unmatched,
        watermark=following.isoformat()))
    yield dg.MaterializeResult(asset_key="orders_daily", metadata=table_metadata(
        warehouse, t.orders_daily, days_recomputed=len(days)))


REBUILD_STOCK = """
DELETE FROM supplybrain.stock;
INSERT INTO supplybrain.stock (channel, account_id, location, item_key, barcode, article_id,
    bundle_type_id, color_id, size_id, sku_unit_id, quantity, in_transit_to_client,
    in_transit_from_client, as_of)
SELECT DISTINCT ON (s.account_id, s.warehouse_name, s.barcode)
       'wb', s.account_id, s.warehouse_name, s.barcode, s.barcode, m.article_id,
       m.bundle_type_id, m.color_id, m.size_id, su.id, s.quantity, s.in_way_to_client,
       s.in_way_from_client, s.as_of
FROM supplybrain.wb_stocks s
LEFT JOIN supplybrain.article_wb_mapping m ON m.wb_sku = s.barcode
LEFT JOIN supplybrain.sku_unit su ON m.bundle_type_id IS NULL AND su.article_id = m.article_id
     AND su.color_id = m.color_id AND su.size_id = m.size_id
ORDER BY s.account_id, s.warehouse_name, s.barcode, m.id;
INSERT INTO supplybrain.stock (channel, account_id, location, item_key, barcode, article_id,
    bundle_type_id, color_id, size_id, sku_unit_id, quantity, as_of)
SELECT 'own', s.account_id, s.store_id, s.assortment_id, NULL, su.article_id, NULL,
       su.color_id, su.size_id, su.id, s.stock, s.as_of
FROM supplybrain.ms_stocks s
LEFT JOIN supplybrain.ms_assortment a ON a.id = s.assortment_id
LEFT JOIN supplybrain.sku_unit su ON su.id = a.sku_unit_id;
"""


@dg.asset(group_name=GROUP, owners=OWNERS, kinds={"postgres"}, code_version="1",
          deps=["wb_stocks", "moysklad_stock", "moysklad_assortment"],
          description="Current stock per channel (WB warehouses; own stores from MoySklad), "
          "location and item, mapped like orders, with its as-of time. Rebuilt each run.")
def stock(warehouse: PostgresWarehouse) -> dg.MaterializeResult:
    with warehouse.transaction() as conn:
        for statement in REBUILD_STOCK.split(";"):
            if statement.strip():
                conn.execute(text(statement))
    return dg.MaterializeResult(metadata=table_metadata(warehouse, t.stock))
