"""planning_health is computed in SQL from the latest run's proposals: worst risk, counts,
units, and the dominant constraint with a stable tie-break (the first in proposal order)."""

from __future__ import annotations

import dagster as dg

from supplybrain_pipelines.assets.planning import planning_health
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
from supplybrain_pipelines_tests.fixtures_db import execute, fetch_all, url_text

#: (article, sku, risk, recommended, constraint), in the order the proposals were written.
PROPOSALS = [
    (1, 1, "ok", 10, "pack_multiple"),
    (1, 2, "warning", 0, "none"),
    (1, 3, "overstock", 5, "fabric_min"),
    (1, 4, "ok", 7, "fabric_min"),
    (1, 5, "ok", 3, "pack_multiple"),      # a 2:2 tie; pack_multiple came first
    (2, 6, "no_data", 0, "none"),
    (2, 7, "critical", 0, "none"),         # nothing to produce
    (3, 8, "ok", 4, "elastic_min"),
    (3, 9, "overstock", 9, "fabric_min"),
    (3, 10, "ok", 1, "fabric_min"),
]


def write(url, run_id: str, computed_at: str) -> None:
    for article, sku, risk, quantity, constraint in PROPOSALS:
        execute(url, """
            INSERT INTO supplybrain.planning_proposals (run_id, as_of, computed_at, sku_unit_id,
                article_id, color_id, size_id, demand_rate, sigma_daily, on_hand,
                on_order_within_lead, position, lead_time_days, target_coverage_days,
                service_level, safety_stock, reorder_point, target_level, raw_quantity,
                recommended_quantity, reason, risk_level, limiting_constraint, explanation)
            VALUES (:run_id, '2026-11-26', :at, :sku, :article, 1, 1, 0, 0, 0, 0, 0, 70, 60,
                    0.9, 0, 0, 0, :q, :q, 'r', :risk, :constraint, '{}')""",
                run_id=run_id, at=computed_at, sku=sku, article=article, q=quantity,
                risk=risk, constraint=constraint)


def test_health_per_article_from_the_latest_run(migrated_db_url, dagster_instance):
    write(migrated_db_url, "older", "2026-11-25T00:00:00Z")
    execute(migrated_db_url, "UPDATE supplybrain.planning_proposals SET risk_level = 'critical'")
    write(migrated_db_url, "newest", "2026-11-26T00:00:00Z")
    resources = {"warehouse": PostgresWarehouse(database_url=url_text(migrated_db_url))}
    for _ in range(2):  # a second run replaces the run's rows
        result = dg.materialize([planning_health], instance=dagster_instance,
                                resources=resources)
        assert result.success
    rows = fetch_all(migrated_db_url, """
        SELECT run_id, article_id, as_of::text, worst_risk, sku_units, sku_units_to_produce,
               total_recommended, dominant_constraint
        FROM supplybrain.planning_health ORDER BY article_id""")
    assert rows == [
        ("newest", 1, "2026-11-26", "warning", 5, 4, 25, "pack_multiple"),
        ("newest", 2, "2026-11-26", "critical", 2, 0, 0, "none"),
        ("newest", 3, "2026-11-26", "overstock", 3, 3, 14, "fabric_min"),
    ]


def test_no_proposals_no_health(migrated_db_url, dagster_instance):
    result = dg.materialize([planning_health], instance=dagster_instance, resources={
        "warehouse": PostgresWarehouse(database_url=url_text(migrated_db_url))})
    assert result.success
    assert fetch_all(migrated_db_url, "SELECT count(*) FROM supplybrain.planning_health") == [(0,)]
