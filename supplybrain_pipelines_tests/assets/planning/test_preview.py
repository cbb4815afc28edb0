"""The markdown previews of planning_proposals and planning_health: the pure table builder on a
tiny input, and the previews of a small run, written out by hand."""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import pytest

from supplybrain_pipelines.assets.planning import planning_health
from supplybrain_pipelines.assets.planning._preview import markdown_table, proposals_preview
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
from supplybrain_pipelines_tests.fixtures_db import execute, url_text


def test_markdown_table_of_a_tiny_input():
    table = markdown_table(
        ["article", "qty", "risk", "stock-out"],
        [("A|1", 12, "critical", dt.date(2026, 12, 10)),
         ("B\nline", 2.5, None, None),
         ("C", 1 / 3, "ok", None)])

    assert table == (
        "| article | qty | risk | stock-out |\n"
        "| --- | --- | --- | --- |\n"
        "| A\\|1 | 12 | critical | 2026-12-10 |\n"
        "| B line | 2.5 |  |  |\n"
        "| C | 0.33 | ok |  |"
    )


def test_markdown_table_refuses_a_row_of_the_wrong_width():
    with pytest.raises(ValueError, match="2 cells for 3 headers"):
        markdown_table(["a", "b", "c"], [(1, 2)])


#: (sku, article, colour, size, cover risk, recommended, constraint, stock-out date)
PROPOSALS = [
    (1, 1, 1, 1, "ok", 10, "pack_multiple", None),
    (2, 1, 1, 2, "critical", 40, "fabric_min", "2026-12-01"),
    (3, 1, 2, 1, "warning", 0, "none", "2026-12-20"),
    (4, 2, 1, 1, "critical", 0, "none", "2026-11-30"),
    (5, 2, 2, 2, "warning", 40, "elastic_min", None),
    (6, 3, 1, 1, "overstock", 0, "none", None),
]


def _write_run(url) -> None:
    for table, rows in (("article", [(1, "TR-100"), (2, "TR-200"), (3, "TR-300")]),
                        ("color", [(1, "BLK"), (2, "RED")]),
                        ("size", [(1, "S"), (2, "M")])):
        code = {"article": "code", "color": "inner_code", "size": "label"}[table]
        for id_, value in rows:
            execute(url, f"INSERT INTO supplybrain.{table} (id, {code}) VALUES (:id, :v)",
                    id=id_, v=value)
    for sku, article, colour, size, risk, quantity, constraint, stockout in PROPOSALS:
        execute(url, """
            INSERT INTO supplybrain.planning_proposals (run_id, as_of, computed_at, sku_unit_id,
                article_id, color_id, size_id, demand_rate, sigma_daily, on_hand,
                on_order_within_lead, position, lead_time_days, target_coverage_days,
                service_level, safety_stock, reorder_point, target_level, raw_quantity,
                recommended_quantity, reason, stockout_date, cover_risk, limiting_constraint,
                explanation)
            VALUES ('run-1', '2026-11-26', '2026-11-26T00:00:00Z', :sku, :article, :colour,
                    :size, 0, 0, 0, 0, 0, 70, 60, 0.9, 0, 0, 0, :q, :q, 'r', :stockout, :risk,
                    :constraint, :explanation)""",
                sku=sku, article=article, colour=colour, size=size, q=quantity, risk=risk,
                constraint=constraint, stockout=stockout, explanation=json.dumps({}))


def test_proposals_preview_lists_the_largest_quantities_first(migrated_db_url):
    _write_run(migrated_db_url)
    warehouse = PostgresWarehouse(database_url=url_text(migrated_db_url))

    preview = proposals_preview(warehouse, "run-1")

    assert preview.value == (
        "Top 10 SKU units by recommended quantity\n\n"
        "| article | colour | size | quantity | cover risk | limited by | stock-out |\n"
        "| --- | --- | --- | --- | --- | --- | --- |\n"
        "| TR-100 | BLK | M | 40 | critical | fabric_min | 2026-12-01 |\n"
        "| TR-200 | RED | M | 40 | warning | elastic_min |  |\n"
        "| TR-100 | BLK | S | 10 | ok | pack_multiple |  |"
    )
    assert proposals_preview(warehouse, "no-such-run").value == (
        "Top 10 SKU units by recommended quantity\n\nNothing to produce in this run.")


def test_planning_health_materialisation_carries_the_worst_articles(migrated_db_url,
                                                                    dagster_instance):
    _write_run(migrated_db_url)

    result = dg.materialize([planning_health], instance=dagster_instance, resources={
        "warehouse": PostgresWarehouse(database_url=url_text(migrated_db_url))})

    assert result.success
    [materialization] = result.asset_materializations_for_node("planning_health")
    # TR-100 and TR-200 are both critical; TR-100 has 2 SKU units to produce, TR-200 one.
    assert materialization.metadata["preview"].value == (
        "Worst 10 articles by cover risk\n\n"
        "| article | worst cover risk | SKU units | to produce | units | limited by |\n"
        "| --- | --- | --- | --- | --- | --- |\n"
        "| TR-100 | critical | 3 | 2 | 50 | pack_multiple |\n"
        "| TR-200 | critical | 2 | 1 | 40 | elastic_min |\n"
        "| TR-300 | overstock | 1 | 0 | 0 | none |"
    )
