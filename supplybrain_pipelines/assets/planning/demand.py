"""``demand``: units ordered per SKU unit over a window, net of cancellations, bundles turned into
singles through the recipes; velocity over in-stock days; σ, ADI/CV² class and the method used.
Also ``demand_barcode`` (per WB barcode) for bundle risk.

One SQL statement (:func:`demand_inputs`) brings back one row per active SKU unit: its order
rows as sparse arrays (day offset, units) and what the stock history knows about its window
and its first day in stock; the per-SKU maths is in ``logic/planning/demand.py``. Rows are
COPYed into the emptied table as they are computed; ``demand_barcode`` is one INSERT … SELECT.
"""

from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from types import SimpleNamespace

import dagster as dg
from sqlalchemy import delete, text

from supplybrain_pipelines.assets._metadata import OWNERS, table_metadata
from supplybrain_pipelines.assets.planning._common import (
    ACTIVE_SKUS,
    GROUP,
    PlanningConfig,
    as_of_date,
    copy_rows,
    paused_gc,
)
from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.logic.planning.demand import summarize_demand
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse

#: Net units per SKU unit and order row: single pieces directly, bundles once per recipe
#: colour. Units are in thousandths as bigint: ``units_net`` is numeric(14, 3), so this is
#: exact, and summing integers (in SQL and in Python) stays exact where float sums would not.
UNITS = """
SELECT od.sku_unit_id, od.day, (od.units_net * 1000)::int8 AS single, 0::int8 AS bundled
FROM supplybrain.orders_daily od
WHERE od.day BETWEEN :start AND :as_of AND od.sku_unit_id IS NOT NULL
UNION ALL
SELECT su.id, od.day, 0, (od.units_net * 1000)::int8
FROM supplybrain.orders_daily od
JOIN supplybrain.bundle_recipe r ON r.article_id = od.article_id
     AND r.bundle_type_id = od.bundle_type_id
JOIN supplybrain.sku_unit su ON su.article_id = od.article_id AND su.color_id = r.color_id
     AND su.size_id = od.size_id
WHERE od.day BETWEEN :start AND :as_of AND od.bundle_type_id IS NOT NULL
"""

#: The first day a SKU unit was ever in stock, for those not in stock on the window's first day
#: (for the others the window says enough), by one of two lookups of the days before the
#: window. "probe": per SKU unit, the lowest such day through stock_history's (day,
#: sku_unit_id) key; PostgreSQL 18 runs it as a skip scan that stops at the first hit, so it
#: reads a few index pages per SKU unit whatever the length of the history. Older servers
#: would scan the whole key range per SKU unit, so they get "scan": one pass over the rows
#: before the window, keeping only in-stock rows of those SKU units.
FIRST_IN_STOCK = {
    "probe": """
       CASE WHEN h.first_in_window = CAST(:start AS date) THEN h.first_in_window
            ELSE COALESCE((SELECT min(o.day) FROM supplybrain.stock_history o
                           WHERE o.sku_unit_id = a.sku_unit_id AND o.day < :start
                             AND o.available > 0), h.first_in_window) END""",
    "scan": "COALESCE(b.first_in_stock, h.first_in_window)",
}

BEFORE_WINDOW = """,
before_window AS (
    SELECT o.sku_unit_id, min(o.day) AS first_in_stock
    FROM supplybrain.stock_history o
    WHERE o.day < :start AND o.available > 0
      AND o.sku_unit_id IN (SELECT a.sku_unit_id FROM active a
                            LEFT JOIN window_history h ON h.sku_unit_id = a.sku_unit_id
                            WHERE h.first_in_window IS DISTINCT FROM CAST(:start AS date))
    GROUP BY 1
)"""


def demand_inputs(lookup: str) -> str:
    """Per active SKU unit: single and bundle units over the window, the order rows as
    parallel arrays (day offset from the window start, thousandths of a unit; a day can appear
    more than once), and the stock history of the window: days recorded, in stock and out of
    stock (and which), plus the first day it was ever in stock (``lookup``: a key of
    :data:`FIRST_IN_STOCK`). Only the window of the history is aggregated."""
    return f"""
WITH active AS ({ACTIVE_SKUS}),
series AS (
    SELECT sku_unit_id, sum(single)::float8 / 1000 AS single,
           sum(bundled)::float8 / 1000 AS bundled,
           array_agg(day - CAST(:start AS date)) AS days,
           array_agg(single + bundled) AS thousandths
    FROM ({UNITS}) units GROUP BY 1
),
window_history AS (
    SELECT sku_unit_id, count(*) AS known_days,
           count(*) FILTER (WHERE available > 0) AS in_stock_days,
           count(*) FILTER (WHERE available <= 0) AS out_days,
           min(day) FILTER (WHERE available > 0) AS first_in_window,
           array_agg(day - CAST(:start AS date)) FILTER (WHERE available <= 0) AS out_of_stock
    FROM supplybrain.stock_history WHERE day BETWEEN :start AND :as_of GROUP BY 1
){BEFORE_WINDOW if lookup == "scan" else ""}
SELECT a.sku_unit_id, a.article_id, a.color_id, a.size_id,
       COALESCE(s.single, 0) AS single, COALESCE(s.bundled, 0) AS bundled, s.days,
       s.thousandths, h.known_days, h.in_stock_days, h.out_days, h.out_of_stock,
       {FIRST_IN_STOCK[lookup].strip()} AS first_in_stock
FROM active a
LEFT JOIN series s ON s.sku_unit_id = a.sku_unit_id
LEFT JOIN window_history h ON h.sku_unit_id = a.sku_unit_id{
    " LEFT JOIN before_window b ON b.sku_unit_id = a.sku_unit_id" if lookup == "scan" else ""}
"""


def first_in_stock_lookup(server_version: tuple[int, ...]) -> str:
    """"probe" where PostgreSQL has B-tree skip scan (18 and later), else "scan"."""
    return "probe" if server_version >= (18,) else "scan"


#: Net units and their daily average per WB barcode over the window.
BARCODE_DEMAND = """
INSERT INTO supplybrain.demand_barcode (as_of, barcode, article_id, bundle_type_id, size_id,
                                        window_days, units, avg_daily)
SELECT CAST(:as_of AS date), od.item_key, min(od.article_id), min(od.bundle_type_id),
       min(od.size_id), :window, sum(od.units_net)::float8,
       sum(od.units_net)::float8 / :window
FROM supplybrain.orders_daily od
WHERE od.channel = 'wb' AND od.article_id IS NOT NULL AND od.day BETWEEN :start AND :as_of
GROUP BY od.item_key
"""


def window_series(window: int, days: list[int] | None,
                  thousandths: list[int] | None) -> list[float]:
    """The window's daily units from the order rows' (day offset, thousandths) arrays.

    Rows of the same day are added as integers, then divided once, so every day is exactly
    the numeric sum of its rows, rounded once to a float; days without orders are 0.
    """
    if not days:
        return [0.0] * window
    totals = [0] * window
    for day, amount in zip(days, thousandths, strict=True):
        totals[day] += amount
    return [total / 1000 for total in totals]


def known_history(row) -> SimpleNamespace | None:
    """What the stock history knows about the SKU unit (None: nothing at all, or never in
    stock and nothing recorded in the window, which days_in_stock treats alike)."""
    if row.known_days is None and row.first_in_stock is None:
        return None
    return SimpleNamespace(known_days=row.known_days or 0,
                           in_stock_days=row.in_stock_days or 0, out_days=row.out_days or 0,
                           first_in_stock=row.first_in_stock)


def in_stock_mask(window: int, start: date, history, out_days: list[date]) -> list[bool] | None:
    """Per day of the window: could the SKU unit sell? None when no history is known.

    Days before it was first in stock and days recorded out of stock are False; days the
    history does not cover are assumed in stock.
    """
    if history is None or history.first_in_stock is None:
        return None
    mask = [True] * window
    first = (history.first_in_stock - start).days
    for index in range(min(max(first, 0), window)):
        mask[index] = False
    for day in out_days:
        mask[(day - start).days] = False
    return mask


def days_in_stock(window: int, start: date, as_of: date, history) -> tuple[int, str, bool]:
    """Days the velocity divides by, their basis, and whether the history covered the window.

    Days the stock history does not cover count as in stock; a SKU first in stock inside the
    window counts from that day; with no history at all, calendar days (flagged).
    """
    if history is None or (history.known_days == 0 and history.first_in_stock is None):
        return window, "calendar", False
    unknown = window - history.known_days
    if history.first_in_stock is not None and history.first_in_stock > start:
        days = (as_of - history.first_in_stock).days + 1 - history.out_days
        return max(days, 1), "since_first_stock", unknown == 0
    days = history.in_stock_days + unknown
    if days <= 0:
        return window, "calendar", False
    return days, "in_stock", unknown == 0


def demand_rows(as_of: date, window: int, skus: Iterable) -> Iterator[tuple]:
    """The demand table's rows (in column order) from :data:`DEMAND_INPUTS`' rows."""
    start = as_of - timedelta(days=window - 1)
    for sku in skus:
        series = window_series(window, sku.days, sku.thousandths)
        units = sum(series)
        known = known_history(sku)
        days, basis, complete = days_in_stock(window, start, as_of, known)
        velocity = units / days
        out_days = [start + timedelta(days=offset) for offset in sku.out_of_stock or ()]
        summary = summarize_demand(series, in_stock_mask(window, start, known, out_days))
        cls, choice = summary.demand_class, summary.choice
        if choice.method == "croston_sba":
            rate, method = choice.rate, choice.method
        else:
            rate, method = velocity, f"{basis}_mean"
        yield (as_of, sku.sku_unit_id, sku.article_id, sku.color_id, sku.size_id, window, units,
               sku.single, sku.bundled, days, basis, complete, velocity, summary.sigma, cls.adi,
               cls.cv2, cls.kind, method, rate)


@dg.asset(group_name=GROUP, owners=OWNERS, kinds={"postgres", "python"}, code_version="1",
          deps=["orders_daily"], automation_condition=dg.AutomationCondition.eager(),
          description="Demand per SKU unit over a window ending at an explicit as-of date: net "
          "units (bundles turned into singles), velocity over in-stock days, σ of daily "
          "demand, ADI/CV² class, and the rate used (Croston SBA for intermittent SKUs).")
def demand(context: dg.AssetExecutionContext, config: PlanningConfig,
           warehouse: PostgresWarehouse) -> dg.MaterializeResult:
    as_of = as_of_date(config)
    window = config.window_days
    start = as_of - timedelta(days=window - 1)
    params = {"start": start, "as_of": as_of}
    counts = {"rows": 0, "flagged": 0, "croston_sba": 0}

    def tally(rows: Iterator[tuple]) -> Iterator[tuple]:
        for row in rows:
            counts["rows"] += 1
            counts["flagged"] += not row[11]
            counts["croston_sba"] += row[17] == "croston_sba"
            yield row

    with warehouse.transaction() as conn, paused_gc():
        lookup = first_in_stock_lookup(conn.dialect.server_version_info or (0,))
        skus = conn.execute(text(demand_inputs(lookup)), params).all()
        # Both tables are emptied in this transaction, so plain COPY / INSERT, no upsert; the
        # rows are sent as they are computed.
        conn.execute(delete(t.demand))
        copy_rows(conn, t.demand, [c.name for c in t.demand.columns],
                  tally(demand_rows(as_of, window, skus)))
        conn.execute(delete(t.demand_barcode))
        conn.execute(text(BARCODE_DEMAND), {**params, "window": window})
    context.log.info(f"demand as of {as_of}: {counts['rows']} SKU units, {counts['flagged']} "
                     "without full stock history (calendar or partly assumed in-stock days)")
    return dg.MaterializeResult(metadata=table_metadata(
        warehouse, t.demand, as_of=as_of.isoformat(), window_days=window,
        sku_units_without_full_history=counts["flagged"], croston_sba=counts["croston_sba"]))
