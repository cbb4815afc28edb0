"""The daily rollup of ``orders`` into ``orders_daily``, by the brand's business day.

A day is a calendar day in the business time zone (``SUPPLYBRAIN_BUSINESS_TZ``, default
Europe/Moscow; ``config.business_timezone_name``); ``orders.ordered_at`` stays UTC. The zone
is always a bound parameter (``:tz``), never formatted into the SQL.

Shared by the ``orders`` asset (``assets/unified.py``), ``supplybrain import``
(``importer/orders.py``) and migration 0007, which is why it imports neither dagster nor the
table modules.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Connection, text

from supplybrain_pipelines.config import business_timezone_name

_ROLLUP = """
INSERT INTO supplybrain.orders_daily (day, channel, account_id, item_key, article_id,
    bundle_type_id, color_id, size_id, sku_unit_id, units_ordered, units_cancelled, units_net,
    revenue)
SELECT (ordered_at AT TIME ZONE :tz)::date, channel, account_id, item_key,
       min(article_id), min(bundle_type_id), min(color_id), min(size_id), min(sku_unit_id),
       sum(quantity), coalesce(sum(quantity) FILTER (WHERE is_cancelled), 0),
       coalesce(sum(quantity) FILTER (WHERE NOT is_cancelled), 0),
       coalesce(sum(price * quantity) FILTER (WHERE NOT is_cancelled), 0)
FROM supplybrain.orders
{where}
GROUP BY 1, 2, 3, 4
"""

#: The rollup of the business days ``:days`` (date[]). ``:lo`` and ``:hi`` are UTC bounds
#: around those days (``day_bounds``), so that ``ix_orders_ordered_at`` narrows the scan.
ROLLUP_DAYS = _ROLLUP.format(where="WHERE ordered_at >= :lo AND ordered_at < :hi\n"
                             "  AND (ordered_at AT TIME ZONE :tz)::date = ANY (:days)")
#: The rollup of every day (migration 0007 rebuilds the table with it).
ROLLUP_ALL = _ROLLUP.format(where="")

#: More than any UTC offset (they lie between -12:00 and +14:00).
_MAX_OFFSET = timedelta(hours=15)


def day_bounds(days: Collection[date]) -> tuple[datetime, datetime]:
    """UTC instants before the first and after the last moment of ``days`` in any zone."""
    first = datetime.combine(min(days), time(), UTC) - _MAX_OFFSET
    last = datetime.combine(max(days) + timedelta(days=1), time(), UTC) + _MAX_OFFSET
    return first, last


def rebuild_days(conn: Connection, days: Collection[date], tz: str | None = None) -> None:
    """Recompute ``orders_daily`` for ``days`` (business days in ``tz``, default the
    configured zone) from ``orders``, in the caller's transaction."""
    if not days:
        return
    days = sorted(days)
    lo, hi = day_bounds(days)
    conn.execute(text("DELETE FROM supplybrain.orders_daily WHERE day = ANY (:days)"),
                 {"days": days})
    conn.execute(text(ROLLUP_DAYS), {"days": days, "lo": lo, "hi": hi,
                                     "tz": tz or business_timezone_name()})


def rebuild_all(conn: Connection, tz: str | None = None) -> int:
    """Recompute the whole ``orders_daily`` from ``orders`` on the server; returns its rows."""
    conn.execute(text("DELETE FROM supplybrain.orders_daily"))
    return conn.execute(text(ROLLUP_ALL), {"tz": tz or business_timezone_name()}).rowcount
