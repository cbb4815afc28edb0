"""Markdown previews of the tables a planner reads, for the materialisation metadata
(``preview``): the top proposals of a run and its worst articles, shown by the Dagster UI as a
table on the asset's page.

:func:`markdown_table` is the pure part (a GitHub-flavoured markdown table, built here so that
the output does not depend on an optional formatter); the queries read one run's rows with the
article, colour and size by their codes, as a planner knows them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import dagster as dg
from sqlalchemy import TextClause, text

from supplybrain_pipelines.logic.planning.risk import RISK_PRIORITY
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse

#: Rows in a preview.
PREVIEW_ROWS = 10

PROPOSALS_HEADERS = ("article", "colour", "size", "quantity", "cover risk", "limited by",
                     "stock-out")
#: The run's SKU units to produce, largest recommended quantity first (ties: proposal order).
TOP_PROPOSALS = text(f"""
SELECT a.code, c.inner_code, s.label, p.recommended_quantity, p.cover_risk,
       p.limiting_constraint, p.stockout_date
FROM supplybrain.planning_proposals p
JOIN supplybrain.article a ON a.id = p.article_id
JOIN supplybrain.color c ON c.id = p.color_id
JOIN supplybrain.size s ON s.id = p.size_id
WHERE p.run_id = :run_id AND p.recommended_quantity > 0
ORDER BY p.recommended_quantity DESC, p.id
LIMIT {PREVIEW_ROWS}
""")

HEALTH_HEADERS = ("article", "worst cover risk", "SKU units", "to produce", "units",
                  "limited by")
#: The run's articles, worst cover risk first (critical > warning > ok > overstock > no_data),
#: then most SKU units to produce, most units, article code.
WORST_ARTICLES = text(f"""
SELECT a.code, h.worst_cover_risk, h.sku_units, h.sku_units_to_produce, h.total_recommended,
       h.dominant_constraint
FROM supplybrain.planning_health h
JOIN supplybrain.article a ON a.id = h.article_id
WHERE h.run_id = :run_id
ORDER BY CASE h.worst_cover_risk {" ".join(f"WHEN '{level}' THEN {rank}"
                                           for level, rank in RISK_PRIORITY.items())} END DESC,
         h.sku_units_to_produce DESC, h.total_recommended DESC, a.code
LIMIT {PREVIEW_ROWS}
""")


def _cell(value: object) -> str:
    """A value as a table cell: None empty, floats to 2 decimals without trailing zeros, dates
    ISO; a ``|`` is escaped and line breaks become spaces, so a cell cannot break the table."""
    if value is None:
        return ""
    if isinstance(value, float):
        value = f"{value:.2f}".rstrip("0").rstrip(".")
    elif isinstance(value, dt.date):
        value = value.isoformat()
    return " ".join(str(value).split()).replace("|", "\\|")


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A markdown table: the header line, the separator, one line per row.

    Example: ``markdown_table(["a", "b"], [(1, None)])`` is ``"| a | b |\\n| --- | --- |\\n|
    1 |  |"`` (three lines). Every row must have as many cells as there are headers.
    """
    lines = [f"| {' | '.join(_cell(h) for h in headers)} |",
             f"|{'|'.join(' --- ' for _ in headers)}|"]
    for row in rows:
        if len(row) != len(headers):
            raise ValueError(f"a preview row has {len(row)} cells for {len(headers)} headers")
        lines.append(f"| {' | '.join(_cell(value) for value in row)} |")
    return "\n".join(lines)


def _preview(warehouse: PostgresWarehouse, query: TextClause, headers: Sequence[str],
             run_id: str | None, title: str, empty: str) -> dg.MetadataValue:
    rows = []
    if run_id is not None:
        with warehouse.transaction() as conn:
            rows = [tuple(row) for row in conn.execute(query, {"run_id": run_id})]
    body = markdown_table(headers, rows) if rows else empty
    return dg.MetadataValue.md(f"{title}\n\n{body}")


def proposals_preview(warehouse: PostgresWarehouse, run_id: str) -> dg.MetadataValue:
    """The run's top SKU units by recommended quantity, as markdown."""
    return _preview(warehouse, TOP_PROPOSALS, PROPOSALS_HEADERS, run_id,
                    f"Top {PREVIEW_ROWS} SKU units by recommended quantity",
                    "Nothing to produce in this run.")


def health_preview(warehouse: PostgresWarehouse, run_id: str | None) -> dg.MetadataValue:
    """The run's worst articles by cover risk, as markdown (None: no proposals yet)."""
    return _preview(warehouse, WORST_ARTICLES, HEALTH_HEADERS, run_id,
                    f"Worst {PREVIEW_ROWS} articles by cover risk",
                    "No articles in this run.")
