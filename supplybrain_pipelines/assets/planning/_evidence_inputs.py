"""What ``forecast_accuracy`` and ``policy_backtest`` read: the newest planning run's SKU units
with the settings it used, and their daily demand and recorded out-of-stock days over a range of
days ending at that run's as-of, as SKU units × days matrices.

One SQL statement, the ``demand`` asset's way (``assets/planning/demand.py``): the daily
rollup ``orders_daily`` (never the raw orders), bundles turned into singles by the same
``UNITS``, and ``stock_history``, come back as packed arrays per SKU unit and become numpy
matrices through demand's own readers (``unit_matrix``, ``recorded_out_matrix``,
``first_evidence``); evidence before the range is asked with demand's ``EVIDENCE_BEFORE``.
The settings (lead time, coverage, service level) are those the run resolved
(``planning_proposals_latest``), the pack multiple the article's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from sqlalchemy import Connection, Table, delete, text

from supplybrain_pipelines.assets.planning._common import copy_text
from supplybrain_pipelines.assets.planning.demand import (
    AFTER_INPUTS,
    EVIDENCE_BEFORE,
    INPUT_SETTINGS,
    UNITS,
    first_evidence,
    recorded_out_matrix,
    unit_matrix,
)

#: The newest planning run's as-of and its longest lead time (NULLs when there is no run).
RUN = """
SELECT max(as_of) AS as_of, max(lead_time_days) AS longest_lead
FROM supplybrain.planning_proposals_latest
"""

#: One row per SKU unit of the newest planning run, in article order: settings, the packed
#: order days and thousandths of the range, its recorded out-of-stock days, its first evidence
#: in the range (or before it), and (:data:`INPUTS_WITH_STOCK`) the stock recorded at
#: :first_day: the last record on or before it, else the first after it (one index probe each).
_INPUTS = f"""
WITH a AS (
    SELECT sku_unit_id, article_id, color_id, size_id, lead_time_days, target_coverage_days,
           service_level
    FROM supplybrain.planning_proposals_latest
),
series AS (
    SELECT sku_unit_id, min(day) AS first_order,
           string_agg(int4send(day - CAST(:start AS date)), '') AS days,
           string_agg(int8send(single + bundled), '') AS thousandths
    FROM ({UNITS}) units GROUP BY 1
),
range_history AS (
    SELECT sku_unit_id, min(day) FILTER (WHERE available > 0) AS first_in_stock,
           string_agg(int4send(day - CAST(:start AS date)), '') FILTER (WHERE available <= 0)
               AS out_days
    FROM supplybrain.stock_history WHERE day BETWEEN :start AND :as_of GROUP BY 1
)
SELECT a.sku_unit_id, a.article_id, a.color_id, a.size_id, a.lead_time_days,
       a.target_coverage_days, a.service_level, COALESCE(aps.pack_multiple, 1) AS pack_multiple,
       s.days, s.thousandths, h.out_days,
       least(s.first_order, h.first_in_stock) - CAST(:start AS date) AS first_in_range,
       CASE WHEN (least(s.first_order, h.first_in_stock) > CAST(:start AS date)) IS NOT FALSE
            THEN ({EVIDENCE_BEFORE})
            ELSE false END AS evidence_before{{columns}}
FROM a
LEFT JOIN series s ON s.sku_unit_id = a.sku_unit_id
LEFT JOIN range_history h ON h.sku_unit_id = a.sku_unit_id
LEFT JOIN supplybrain.article_planning_settings aps ON aps.article_id = a.article_id{{joins}}
ORDER BY a.article_id, a.sku_unit_id
"""
INPUTS = _INPUTS.format(columns="", joins="")
INPUTS_WITH_STOCK = _INPUTS.format(columns=""",
       COALESCE(before.available, after.available) AS start_stock,
       COALESCE(before.day, after.day) AS start_stock_day""", joins="""
LEFT JOIN LATERAL (SELECT o.available, o.day FROM supplybrain.stock_history o
                   WHERE o.sku_unit_id = a.sku_unit_id AND o.day <= :first_day
                   ORDER BY o.day DESC LIMIT 1) before ON true
LEFT JOIN LATERAL (SELECT o.available, o.day FROM supplybrain.stock_history o
                   WHERE o.sku_unit_id = a.sku_unit_id AND o.day > :first_day
                     AND o.day <= :as_of
                   ORDER BY o.day LIMIT 1) after ON true""")


@dataclass(frozen=True)
class EvidenceInputs:
    """The newest planning run's SKU units (one element or row each, in article order) and
    their days [first_day, as_of] (one column each)."""

    as_of: date
    first_day: date
    sku_unit_id: np.ndarray
    article_id: np.ndarray
    color_id: np.ndarray
    size_id: np.ndarray
    lead_time_days: np.ndarray
    coverage_days: np.ndarray
    service_level: np.ndarray
    pack_multiple: np.ndarray
    units: np.ndarray
    """Net units per SKU unit and day (bundles turned into singles)."""
    recorded_out: np.ndarray
    """The stock history records the day with available ≤ 0."""
    first_evidence: np.ndarray
    """Column of the first evidence that the SKU unit could sell (0: on or before first_day,
    ``days``: none)."""
    start_stock: np.ndarray
    """Stock recorded at ``stock_day`` (0 without a record, or without a ``stock_day``)."""
    start_stock_day: list
    """The day of that record (None: none)."""

    @property
    def days(self) -> int:
        return self.units.shape[1]

    def __len__(self) -> int:
        return len(self.sku_unit_id)


def newest_run(conn: Connection) -> tuple[date | None, int]:
    """The newest planning run's as-of (None: no run) and its longest lead time in days."""
    row = conn.execute(text(RUN)).one()
    return row.as_of, int(row.longest_lead or 0)


def read_inputs(conn: Connection, as_of: date, days: int,
                stock_day: date | None = None) -> EvidenceInputs:
    """The newest planning run's SKU units over the ``days`` days ending at ``as_of``, with the
    stock recorded at ``stock_day`` (None: not asked), in the caller's transaction."""
    start = as_of - timedelta(days=days - 1)
    for setting in INPUT_SETTINGS:
        conn.execute(text(setting))
    query = INPUTS if stock_day is None else INPUTS_WITH_STOCK
    rows = conn.execute(text(query), {"start": start, "as_of": as_of,
                                      "first_day": stock_day}).all()
    for setting in AFTER_INPUTS:
        conn.execute(text(setting))
    n = len(rows)
    names = ("sku_unit_id", "article_id", "color_id", "size_id", "lead_time_days",
             "target_coverage_days", "service_level", "pack_multiple", "days", "thousandths",
             "out_days", "first_in_range", "evidence_before", "start_stock", "start_stock_day")
    if stock_day is None:
        names = names[:-2]
    c = dict(zip(names, (list(column) for column in zip(*rows, strict=True)), strict=True)) \
        if rows else {name: [] for name in names}
    c.setdefault("start_stock", [None] * n)
    c.setdefault("start_stock_day", [None] * n)
    integers = {name: np.array(c[name], dtype=np.int64) for name in (
        "sku_unit_id", "article_id", "color_id", "size_id", "lead_time_days",
        "target_coverage_days", "pack_multiple")}
    stock = np.maximum(np.nan_to_num(np.array(c["start_stock"], dtype=np.float64)), 0.0)
    return EvidenceInputs(
        as_of=as_of, first_day=start, **{k: integers[k] for k in (
            "sku_unit_id", "article_id", "color_id", "size_id", "lead_time_days")},
        coverage_days=integers["target_coverage_days"],
        service_level=np.array(c["service_level"], dtype=np.float64),
        pack_multiple=integers["pack_multiple"],
        units=unit_matrix(n, days, c["days"], c["thousandths"]),
        recorded_out=recorded_out_matrix(n, days, c["out_days"]),
        first_evidence=first_evidence(days, c["first_in_range"], c["evidence_before"]),
        start_stock=stock, start_stock_day=c["start_stock_day"])


#: Rows per COPY block: the server stores one block while the next is formatted.
BLOCK_ROWS = 8192


def copy_blocks(rows: list[tuple]) -> Iterator[str]:
    """``rows`` as COPY text blocks: ``\\N`` for None, ``str`` of everything else (numbers,
    dates, and texts of our own without a tab, newline or backslash: levels, horizons, class
    names, run ids). Formatting forecast_accuracy's 97k rows at 48k SKU units took 0.7 s,
    psycopg's ``write_row`` 1.5 s (profiled on the bench's data, loaded machine)."""
    for first in range(0, len(rows), BLOCK_ROWS):
        yield "".join("\t".join("\\N" if v is None else str(v) for v in row) + "\n"
                      for row in rows[first:first + BLOCK_ROWS])


def replace_rows(conn: Connection, table: Table, columns: list[str], rows: list[tuple], *,
                 run_id: str, as_of: date, keep_days: int) -> None:
    """Write a run's ``rows`` in the caller's transaction: first delete the rows of earlier
    runs for the same ``as_of`` (one evaluation per day is kept), of this run (a re-executed
    step), and of as-of days more than ``keep_days`` before ``as_of``."""
    oldest = as_of - timedelta(days=keep_days)
    conn.execute(delete(table).where((table.c.as_of == as_of) | (table.c.run_id == run_id)
                                     | (table.c.as_of < oldest)))
    copy_text(conn, table, columns, copy_blocks(rows))


def check_config(config: object, *, positive: tuple[str, ...],
                 non_negative: tuple[str, ...] = ()) -> None:
    """ValueError naming the first setting of ``config`` that is not a whole number ≥ 1
    (``positive``) or ≥ 0 (``non_negative``); checked before anything is read or written."""
    for names, least in ((positive, 1), (non_negative, 0)):
        for name in names:
            value = getattr(config, name)
            if value < least:
                raise ValueError(f"{name} must be ≥ {least}, got {value!r}")
