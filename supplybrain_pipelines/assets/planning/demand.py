"""``demand``: units ordered per SKU unit over a window, net of cancellations, bundles turned into
singles through the recipes; velocity, σ, ADI/CV² class and rate over one in-stock mask.
Also ``demand_barcode`` (per WB barcode) for bundle risk, and ``demand_unexploded``: bundle
units that could not be turned into singles (no recipe, or no SKU unit of a recipe colour in
that size), so they are counted and shown instead of silently dropped.

One SQL statement (:func:`demand_inputs`) brings back one row per active SKU unit: its order
rows as packed arrays (day offset, units), what the stock history records about the window,
and the first evidence that it could sell (module docstring of ``logic/planning/demand.py``).
The maths runs on the whole catalogue at once as numpy matrices (SKU units × days) in
``logic/planning/demand.py``; the rows are COPYed into the emptied table.
"""

from datetime import timedelta

import dagster as dg
import numpy as np
from sqlalchemy import delete, text

from supplybrain_pipelines.assets._metadata import OWNERS, table_metadata
from supplybrain_pipelines.assets.planning._common import (
    ACTIVE_SKUS,
    GROUP,
    PlanningConfig,
    as_of_date,
    copy_rows,
)
from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.logic.planning.demand import KINDS, demand_stats, in_stock_mask
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse

#: Net units per SKU unit and order row: single pieces directly, bundles once per recipe
#: colour. Units are in thousandths as bigint: ``units_net`` is numeric(14, 3), so this is
#: exact, and summing integers (in SQL and in Python) stays exact where float sums would not.
#: A day with orders that were all cancelled still has a row (0 units): an order is evidence
#: that the SKU unit could be ordered.
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

#: Whether a SKU unit shows any evidence before the window: a recorded availability > 0, or an
#: order of it, on its own or in a bundle. Only asked of SKU units whose first evidence inside
#: the window is after its first day while some window day is unrecorded (a new install, an
#: import, a new SKU unit): every other row's mask is settled by the window alone. Each
#: EXISTS is one probe of an index ending in ``day`` (migration 0009), so the cost does not
#: grow with the length of the history.
EVIDENCE_BEFORE = """
EXISTS (SELECT 1 FROM supplybrain.stock_history o
        WHERE o.sku_unit_id = a.sku_unit_id AND o.day < :start AND o.available > 0)
OR EXISTS (SELECT 1 FROM supplybrain.orders_daily od
           WHERE od.sku_unit_id = a.sku_unit_id AND od.day < :start)
OR EXISTS (SELECT 1 FROM supplybrain.bundle_recipe r
           JOIN supplybrain.orders_daily od ON od.article_id = r.article_id
                AND od.size_id = a.size_id AND od.bundle_type_id = r.bundle_type_id
                AND od.day < :start
           WHERE r.article_id = a.article_id AND r.color_id = a.color_id)"""

#: One row per active SKU unit: its order rows of the window as packed arrays, and what the
#: stock history records of the window. The arrays are ``bytea`` of big-endian integers
#: (``int4send``/``int8send`` concatenated, in the same order within a row): numpy reads them in
#: one call, where a SQL array becomes one Python int per element (about 2.3M at 125k SKU
#: units, as long to convert as the query takes to run). The history is read in SKU order from
#: the key ``(sku_unit_id, day) INCLUDE (available)`` alone (migration 0010), so it aggregates
#: one SKU unit at a time with no hash table or sort; run under :data:`INPUT_SETTINGS`.
DEMAND_INPUTS = f"""
WITH active AS ({ACTIVE_SKUS}),
series AS (
    SELECT sku_unit_id, sum(single)::float8 / 1000 AS single,
           sum(bundled)::float8 / 1000 AS bundled, min(day) AS first_order,
           string_agg(int4send(day - CAST(:start AS date)), '') AS days,
           string_agg(int8send(single + bundled), '') AS thousandths
    FROM ({UNITS}) units GROUP BY 1
),
window_history AS (
    SELECT sku_unit_id, count(*) AS known_days,
           min(day) FILTER (WHERE available > 0) AS first_in_stock,
           string_agg(int4send(day - CAST(:start AS date)), '') FILTER (WHERE available <= 0)
               AS out_days
    FROM supplybrain.stock_history WHERE day BETWEEN :start AND :as_of GROUP BY 1
)
SELECT a.sku_unit_id, a.article_id, a.color_id, a.size_id,
       COALESCE(s.single, 0) AS single, COALESCE(s.bundled, 0) AS bundled, s.days,
       s.thousandths, COALESCE(h.known_days, 0) AS known_days, h.out_days,
       least(s.first_order, h.first_in_stock) - CAST(:start AS date) AS first_in_window,
       CASE WHEN (least(s.first_order, h.first_in_stock) > CAST(:start AS date)) IS NOT FALSE
                 AND COALESCE(h.known_days, 0) < :window
            THEN ({EVIDENCE_BEFORE})
            ELSE false END AS evidence_before
FROM active a
LEFT JOIN series s ON s.sku_unit_id = a.sku_unit_id
LEFT JOIN window_history h ON h.sku_unit_id = a.sku_unit_id
"""

#: Net units per WB barcode and their daily average over the window.
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

#: Bundle units of the window that UNITS cannot turn into singles, by reason. The window's
#: bundle rows are summed per (article, bundle type, size) first (numeric sums are exact, so
#: the order of the additions does not matter), then each bundle type's recipe colours are
#: looked up once. ``sku_unit.size_id`` is NOT NULL, so a bundle row without a size has no SKU
#: unit, as the equality says.
UNEXPLODED = """
INSERT INTO supplybrain.demand_unexploded (as_of, article_id, bundle_type_id, size_id,
                                           color_id, reason, units)
SELECT CAST(:as_of AS date), b.article_id, b.bundle_type_id, b.size_id, r.color_id,
       CASE WHEN r.color_id IS NULL THEN 'no_recipe' ELSE 'no_sku_unit' END,
       b.units::float8
FROM (SELECT od.article_id, od.bundle_type_id, od.size_id, sum(od.units_net) AS units
      FROM supplybrain.orders_daily od
      WHERE od.day BETWEEN :start AND :as_of AND od.bundle_type_id IS NOT NULL
      GROUP BY 1, 2, 3) b
LEFT JOIN supplybrain.bundle_recipe r ON r.article_id = b.article_id
     AND r.bundle_type_id = b.bundle_type_id
WHERE r.color_id IS NULL OR NOT EXISTS (
        SELECT 1 FROM supplybrain.sku_unit su WHERE su.article_id = b.article_id
        AND su.color_id = r.color_id AND su.size_id = b.size_id)
RETURNING units
"""

#: Planner settings for demand's transaction (``SET LOCAL``: they end with it). DEMAND_INPUTS
#: turns each order row of the window into array elements (about 1M at 125k SKU units): sorted
#: by SKU unit and aggregated one SKU unit at a time, that takes one in-memory sort, where a
#: hash aggregate keeps an array per SKU unit and spills to disk. Bundle rows are joined to
#: their recipes and SKU units by hash joins (the planner misjudges recipe × SKU unit and would
#: probe the orders per SKU unit in a nested loop). The barcode and unexploded sums hash.
INPUT_SETTINGS = ("SET LOCAL work_mem = '128MB'", "SET LOCAL enable_hashagg = off",
                  "SET LOCAL enable_nestloop = off")
AFTER_INPUTS = ("SET LOCAL enable_hashagg TO DEFAULT", "SET LOCAL enable_nestloop TO DEFAULT")


#: The packed arrays of :data:`DEMAND_INPUTS`: day offsets (int4) and thousandths (int8).
DAY = np.dtype(">i4")
THOUSANDTHS = np.dtype(">i8")


def unpack(rows: int, packed: list, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """Per row, how many values its packed array holds (None: none), and all the values in row
    order, as int64."""
    counts = np.fromiter((len(b) if b else 0 for b in packed), dtype=np.int64, count=rows)
    values = np.frombuffer(b"".join(b for b in packed if b), dtype=dtype).astype(np.int64)
    return counts // dtype.itemsize, values


def day_cells(rows: int, window: int, packed_days: list) -> np.ndarray:
    """The flat (row × window + day offset) cell of every packed day offset, in row order."""
    counts, offsets = unpack(rows, packed_days, DAY)
    return np.repeat(np.arange(rows, dtype=np.int64), counts) * window + offsets


def unit_matrix(rows: int, window: int, days: list, thousandths: list) -> np.ndarray:
    """Net units per (row, day offset) from each row's packed order arrays (None: no orders).

    Rows of the same day are added as whole thousandths, then divided once, so every day is
    exactly the numeric sum of its rows rounded once to a float.
    """
    amounts = unpack(rows, thousandths, THOUSANDTHS)[1].astype(np.float64)
    totals = np.bincount(day_cells(rows, window, days), weights=amounts,
                         minlength=rows * window)
    return totals.reshape(rows, window) / 1000


def recorded_out_matrix(rows: int, window: int, out_days: list) -> np.ndarray:
    """True where the stock history records the (row, day offset) with available ≤ 0 (packed
    day offsets per row, None: none)."""
    flat = np.zeros(rows * window, dtype=bool)
    flat[day_cells(rows, window, out_days)] = True
    return flat.reshape(rows, window)


def first_evidence(window: int, first_in_window: list, evidence_before: list) -> np.ndarray:
    """Per row, the column of the first evidence day: 0 with evidence before the window, the
    first order or in-stock day inside it, else ``window`` (no evidence: no day counts)."""
    inside = np.array([window if f is None else f for f in first_in_window], dtype=np.int64)
    return np.where(np.array(evidence_before, dtype=bool), 0, inside)


def days_basis(start_column: np.ndarray, known_days: np.ndarray, window: int) -> np.ndarray:
    """``since_first_activity`` when the first evidence lies inside the window, else
    ``in_stock`` when the history records some window day, ``no_activity`` without any
    evidence, else ``calendar`` (no history: every day from the evidence on counts)."""
    return np.select(
        [(start_column > 0) & (start_column < window), known_days > 0, start_column >= window],
        ["since_first_activity", "in_stock", "no_activity"], "calendar")


def demand_columns(as_of, window: int, skus: list) -> tuple[list, dict]:
    """The demand table's columns (lists in table order) from :data:`DEMAND_INPUTS`' rows, and
    counts for the run's metadata."""
    (sku, article, color, size, single, bundled, days, thousandths, known, out_days,
     first_in_window, before) = (list(c) for c in zip(*skus, strict=True)) if skus else [[]] * 12
    n = len(sku)
    units = unit_matrix(n, window, days, thousandths)
    start_column = first_evidence(window, first_in_window, before)
    known_days = np.array(known, dtype=np.int64)
    mask = in_stock_mask(units, recorded_out_matrix(n, window, out_days), start_column)
    stats = demand_stats(units, mask)
    basis = days_basis(start_column, known_days, window)
    method = np.where(stats.tsb, "tsb", np.char.add(basis.astype(str), "_mean"))
    start = as_of - timedelta(days=window - 1)
    counted_from = [start + timedelta(days=int(c)) if c < window else None
                    for c in np.maximum(start_column, 0).tolist()]
    complete = (known_days == window).tolist()
    nan_to_none = lambda a: [None if v != v else v for v in a.tolist()]  # noqa: E731
    columns = [[as_of] * n, sku, article, color, size, [window] * n, stats.units.tolist(),
               single, bundled, stats.days.tolist(), basis.tolist(), complete,
               stats.velocity.tolist(), stats.sigma.tolist(), nan_to_none(stats.adi),
               nan_to_none(stats.cv2), [KINDS[k] for k in stats.kind.tolist()],
               method.tolist(), stats.rate.tolist(), counted_from]
    counts = {"sku_units": n, "without_full_history": n - sum(complete),
              "tsb": int(stats.tsb.sum()),
              "since_first_activity": int((basis == "since_first_activity").sum()),
              "no_activity": int((basis == "no_activity").sum())}
    return columns, counts


@dg.asset(group_name=GROUP, owners=OWNERS, kinds={"postgres", "numpy"}, code_version="2",
          deps=["orders_daily"], automation_condition=dg.AutomationCondition.eager(),
          description="Demand per SKU unit over a window ending at an explicit as-of (business) "
          "day: net units (bundles turned into singles), and over one in-stock mask the "
          "velocity, σ of daily demand, ADI/CV² class and the rate used (TSB for intermittent "
          "SKU units). Bundle units that cannot be turned into singles go to "
          "demand_unexploded.")
def demand(context: dg.AssetExecutionContext, config: PlanningConfig,
           warehouse: PostgresWarehouse) -> dg.MaterializeResult:
    as_of = as_of_date(config)
    window = config.window_days
    start = as_of - timedelta(days=window - 1)
    params = {"start": start, "as_of": as_of}
    with warehouse.transaction() as conn:
        for setting in INPUT_SETTINGS:
            conn.execute(text(setting))
        skus = conn.execute(text(DEMAND_INPUTS), {**params, "window": window}).all()
        for setting in AFTER_INPUTS:
            conn.execute(text(setting))
        columns, counts = demand_columns(as_of, window, skus)
        # All three tables are emptied in this transaction, so plain COPY / INSERT, no upsert.
        conn.execute(delete(t.demand))
        copy_rows(conn, t.demand, [c.name for c in t.demand.columns],
                  zip(*columns, strict=True))
        conn.execute(delete(t.demand_barcode))
        conn.execute(text(BARCODE_DEMAND), {**params, "window": window})
        conn.execute(delete(t.demand_unexploded))
        unexploded = [r.units for r in conn.execute(text(UNEXPLODED), params)]
    context.log.info(
        f"demand as of {as_of}: {counts['sku_units']} SKU units, {counts['tsb']} by TSB, "
        f"{counts['since_first_activity']} first active inside the window, "
        f"{counts['without_full_history']} without a full stock history (unrecorded days "
        f"count as in stock); {sum(unexploded):g} bundle units not turned into singles")
    return dg.MaterializeResult(metadata=table_metadata(
        warehouse, t.demand, as_of=as_of.isoformat(), window_days=window,
        sku_units_without_full_history=counts["without_full_history"], tsb=counts["tsb"],
        since_first_activity=counts["since_first_activity"],
        no_activity=counts["no_activity"],
        bundle_units_not_exploded=float(sum(unexploded)),
        bundle_lines_not_exploded=len(unexploded)))
