"""``demand``: units ordered per SKU unit over a window, net of cancellations, bundles turned into
singles through the recipes; velocity over in-stock days; σ, ADI/CV² class and the method used.
Also ``demand_barcode`` (per WB barcode) for bundle risk.

SQL brings back only what was ordered (day × SKU unit) and the stock-history counts; the
per-SKU maths is in ``logic/planning/demand.py``.
"""

from collections import defaultdict
from datetime import date, timedelta

import dagster as dg
from sqlalchemy import delete, text

from supplybrain_pipelines.assets._metadata import OWNERS, table_metadata
from supplybrain_pipelines.assets.planning._common import (
    ACTIVE_SKUS,
    GROUP,
    PlanningConfig,
    as_of_date,
)
from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.logic.planning.demand import choose_method, classify_demand, sigma_daily
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse, bulk_upsert

#: Net units per (SKU unit, day): single pieces directly, bundles once per recipe colour.
DAILY_UNITS = """
SELECT sku_unit_id, day, sum(single) AS single, sum(bundled) AS bundled FROM (
    SELECT od.sku_unit_id, od.day, od.units_net AS single, 0 AS bundled
    FROM supplybrain.orders_daily od
    WHERE od.day BETWEEN :start AND :as_of AND od.sku_unit_id IS NOT NULL
    UNION ALL
    SELECT su.id, od.day, 0, od.units_net
    FROM supplybrain.orders_daily od
    JOIN supplybrain.bundle_recipe r ON r.article_id = od.article_id
         AND r.bundle_type_id = od.bundle_type_id
    JOIN supplybrain.sku_unit su ON su.article_id = od.article_id AND su.color_id = r.color_id
         AND su.size_id = od.size_id
    WHERE od.day BETWEEN :start AND :as_of AND od.bundle_type_id IS NOT NULL
) units GROUP BY 1, 2
"""

#: What the stock history knows per SKU unit: days recorded in the window, days in stock, and
#: the first day it was ever in stock.
HISTORY = """
SELECT sku_unit_id,
       count(*) FILTER (WHERE day BETWEEN :start AND :as_of) AS known_days,
       count(*) FILTER (WHERE day BETWEEN :start AND :as_of AND available > 0) AS in_stock_days,
       count(*) FILTER (WHERE day BETWEEN :start AND :as_of AND available <= 0) AS out_days,
       min(day) FILTER (WHERE available > 0) AS first_in_stock
FROM supplybrain.stock_history WHERE day <= :as_of GROUP BY 1
"""

#: Days in the window on which the history says a SKU unit was out of stock.
OUT_OF_STOCK_DAYS = """
SELECT sku_unit_id, day FROM supplybrain.stock_history
WHERE day BETWEEN :start AND :as_of AND available <= 0
"""

BARCODE_DEMAND = """
SELECT od.item_key AS barcode, min(od.article_id) AS article_id,
       min(od.bundle_type_id) AS bundle_type_id, min(od.size_id) AS size_id,
       sum(od.units_net) AS units
FROM supplybrain.orders_daily od
WHERE od.channel = 'wb' AND od.article_id IS NOT NULL AND od.day BETWEEN :start AND :as_of
GROUP BY od.item_key
"""


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
    with warehouse.transaction() as conn:
        skus = conn.execute(text(ACTIVE_SKUS)).all()
        daily: dict[int, list[float]] = defaultdict(lambda: [0.0] * window)
        split: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for row in conn.execute(text(DAILY_UNITS), params):
            daily[row.sku_unit_id][(row.day - start).days] += float(row.single + row.bundled)
            split[row.sku_unit_id][0] += float(row.single)
            split[row.sku_unit_id][1] += float(row.bundled)
        history = {row.sku_unit_id: row for row in conn.execute(text(HISTORY), params)}
        out_of_stock: dict[int, list[date]] = defaultdict(list)
        for row in conn.execute(text(OUT_OF_STOCK_DAYS), params):
            out_of_stock[row.sku_unit_id].append(row.day)
        rows = []
        for sku in skus:
            series = daily.get(sku.sku_unit_id, [0.0] * window)
            units = sum(series)
            known = history.get(sku.sku_unit_id)
            days, basis, complete = days_in_stock(window, start, as_of, known)
            velocity = units / days
            cls = classify_demand(series)
            choice = choose_method(series, in_stock_mask(window, start, known,
                                                         out_of_stock[sku.sku_unit_id]))
            if choice.method == "croston_sba":
                rate, method = choice.rate, choice.method
            else:
                rate, method = velocity, f"{basis}_mean"
            single, bundled = split.get(sku.sku_unit_id, (0.0, 0.0))
            rows.append((as_of, sku.sku_unit_id, sku.article_id, sku.color_id, sku.size_id,
                         window, units, single, bundled, days, basis, complete, velocity,
                         sigma_daily(series), cls.adi, cls.cv2, cls.kind, method, rate))
        conn.execute(delete(t.demand))
        bulk_upsert(conn, t.demand, [c.name for c in t.demand.columns], rows, ["sku_unit_id"])
        barcode_rows = [(as_of, r.barcode, r.article_id, r.bundle_type_id, r.size_id, window,
                         float(r.units), float(r.units) / window)
                        for r in conn.execute(text(BARCODE_DEMAND), params)]
        conn.execute(delete(t.demand_barcode))
        bulk_upsert(conn, t.demand_barcode, [c.name for c in t.demand_barcode.columns],
                    barcode_rows, ["barcode"])
    flagged = sum(1 for r in rows if not r[11])
    context.log.info(f"demand as of {as_of}: {len(rows)} SKU units, {flagged} without full "
                     "stock history (calendar or partly assumed in-stock days)")
    return dg.MaterializeResult(metadata=table_metadata(
        warehouse, t.demand, as_of=as_of.isoformat(), window_days=window,
        sku_units_without_full_history=flagged,
        croston_sba=sum(1 for r in rows if r[17] == "croston_sba")))
