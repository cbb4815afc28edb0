"""planning_health is computed in SQL from the latest run's proposals: worst risk (the old
backend's order critical > warning > ok > overstock > no_data, as ``worst_risk``), counts,
units, the dominant constraint with a stable tie-break (the first in proposal order), and the
minimums' cover check read from the explanation."""

from __future__ import annotations

import json
import random

import dagster as dg

from supplybrain_pipelines.assets.planning import planning_health
from supplybrain_pipelines.logic.planning.risk import RISK_PRIORITY, worst_risk
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
    (3, 10, "ok", 1, "fabric_min"),       # ok outranks overstock (§3.3)
    (4, 11, "no_data", 0, "none"),
    (4, 12, "overstock", 0, "none"),      # overstock outranks no_data
]


def write(url, run_id: str, computed_at: str, proposals=PROPOSALS,
          explanations: dict[int, dict] | None = None) -> None:
    for article, sku, risk, quantity, constraint in proposals:
        execute(url, """
            INSERT INTO supplybrain.planning_proposals (run_id, as_of, computed_at, sku_unit_id,
                article_id, color_id, size_id, demand_rate, sigma_daily, on_hand,
                on_order_within_lead, position, lead_time_days, target_coverage_days,
                service_level, safety_stock, reorder_point, target_level, raw_quantity,
                recommended_quantity, reason, cover_risk, limiting_constraint, explanation)
            VALUES (:run_id, '2026-11-26', :at, :sku, :article, 1, 1, 0, 0, 0, 0, 0, 70, 60,
                    0.9, 0, 0, 0, :q, :q, 'r', :risk, :constraint, :explanation)""",
                run_id=run_id, at=computed_at, sku=sku, article=article, q=quantity,
                risk=risk, constraint=constraint,
                explanation=json.dumps((explanations or {}).get(sku, {})))


def materialize(url, instance) -> None:
    result = dg.materialize([planning_health], instance=instance, resources={
        "warehouse": PostgresWarehouse(database_url=url_text(url))})
    assert result.success


def test_health_per_article_from_the_latest_run(migrated_db_url, dagster_instance):
    write(migrated_db_url, "older", "2026-11-25T00:00:00Z")
    execute(migrated_db_url, "UPDATE supplybrain.planning_proposals SET cover_risk = 'critical'")
    write(migrated_db_url, "newest", "2026-11-26T00:00:00Z")
    resources = {"warehouse": PostgresWarehouse(database_url=url_text(migrated_db_url))}
    for _ in range(2):  # a second run replaces the run's rows
        result = dg.materialize([planning_health], instance=dagster_instance,
                                resources=resources)
        assert result.success
    rows = fetch_all(migrated_db_url, """
        SELECT run_id, article_id, as_of::text, worst_cover_risk, sku_units, sku_units_to_produce,
               total_recommended, dominant_constraint
        FROM supplybrain.planning_health ORDER BY article_id""")
    assert rows == [
        ("newest", 1, "2026-11-26", "warning", 5, 4, 25, "pack_multiple"),
        ("newest", 2, "2026-11-26", "critical", 2, 0, 0, "none"),
        ("newest", 3, "2026-11-26", "ok", 3, 3, 14, "fabric_min"),
        ("newest", 4, "2026-11-26", "overstock", 2, 0, 0, "none"),
    ]


def cover_step(flagged: bool, policy: str, cover: float | None, quantity: int) -> dict:
    return {"steps": [{"step": "z"}, {"step": "input"},
                      {"step": "minimum_cover", "flagged": flagged,
                       "flag": "minimum_exceeds_max_cover" if flagged else None,
                       "policy": policy, "max_cover_days": 365, "cover_days": cover,
                       "quantity_with_minimums": quantity, "would_produce": []},
                      {"step": "output"}]}


def test_health_shows_the_minimums_cover_check(migrated_db_url, dagster_instance):
    proposals = [(1, 1, "ok", 0, "deferred_minimum"), (1, 2, "ok", 0, "deferred_minimum"),
                 (2, 3, "ok", 7000, "fabric_min"),
                 (3, 4, "ok", 3000, "elastic_min"),
                 (4, 5, "ok", 12, "none")]
    explanations = {1: cover_step(True, "defer", 3520.0, 7000),
                    2: cover_step(True, "defer", 3520.0, 7000),
                    3: cover_step(True, "raise", 400.5, 7000),
                    4: cover_step(False, "defer", 200.0, 3000),
                    5: {"steps": [{"step": "z"}]}}  # the minimums added nothing
    write(migrated_db_url, "run", "2026-11-26T00:00:00Z", proposals, explanations)
    materialize(migrated_db_url, dagster_instance)
    rows = fetch_all(migrated_db_url, """
        SELECT article_id, total_recommended, dominant_constraint, minimum_exceeds_max_cover,
               minimum_cover_policy, max_minimum_cover_days, minimum_cover_days,
               quantity_with_minimums
        FROM supplybrain.planning_health_latest ORDER BY article_id""")
    assert rows == [
        (1, 0, "none", True, "defer", 365, 3520.0, 7000),
        (2, 7000, "fabric_min", True, "raise", 365, 400.5, 7000),
        (3, 3000, "elastic_min", False, "defer", 365, 200.0, 3000),
        (4, 12, "none", False, None, None, None, None),
    ]


def test_health_worst_risk_equals_worst_risk_on_random_proposals(migrated_db_url,
                                                                  dagster_instance):
    """The SQL ranks levels by the same RISK_PRIORITY as ``worst_risk``; on random runs the
    two agree article by article (ties are the same level, so "first entry" does not
    matter)."""
    rng = random.Random(11)
    levels = list(RISK_PRIORITY)
    proposals, sku = [], 0
    for article in range(1, 61):
        for _ in range(rng.randint(1, 6)):
            sku += 1
            proposals.append((article, sku, rng.choice(levels), 0, "none"))
    write(migrated_db_url, "random", "2026-11-26T00:00:00Z", proposals)
    materialize(migrated_db_url, dagster_instance)
    got = dict(fetch_all(migrated_db_url,
                         "SELECT article_id, worst_cover_risk FROM supplybrain.planning_health"))
    expected = {article: worst_risk([p[2] for p in proposals if p[0] == article])
                for article in range(1, 61)}
    assert got == expected
    assert set(got.values()) == set(levels)  # every level won somewhere


def test_no_proposals_no_health(migrated_db_url, dagster_instance):
    result = dg.materialize([planning_health], instance=dagster_instance, resources={
        "warehouse": PostgresWarehouse(database_url=url_text(migrated_db_url))})
    assert result.success
    assert fetch_all(migrated_db_url, "SELECT count(*) FROM supplybrain.planning_health") == [(0,)]
