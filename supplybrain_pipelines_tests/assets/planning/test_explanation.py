"""Each proposal explains itself: its inputs, its settings and every step that concerns its SKU
unit, without the other SKU units' additions (the explanation must not grow with the
article)."""

from __future__ import annotations

import dagster as dg
import sqlalchemy as sa

from supplybrain_pipelines.assets.planning import PLANNING_ASSETS
from supplybrain_pipelines.checks import CHECKS
from supplybrain_pipelines.logic.planning.minimums import pantone_group
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
from supplybrain_pipelines_tests.fixtures_db import url_text

MATHS = ["z", "safety_stock", "reorder_point", "target", "recommend"]


def test_explanations_hold_the_sku_units_own_steps(migrated_db_url, dagster_instance):
    from supplybrain_pipelines.importer import import_directory
    from supplybrain_pipelines_tests.importer import SCENARIO_SMALL

    assert import_directory(url_text(migrated_db_url), SCENARIO_SMALL).ok
    as_of = {"config": {"as_of": "2026-10-30"}}
    result = dg.materialize([*PLANNING_ASSETS, *CHECKS], instance=dagster_instance,
                            run_config={"ops": {"demand": as_of, "supply": as_of}},
                            resources={"warehouse": PostgresWarehouse(
                                database_url=url_text(migrated_db_url))})
    assert result.success
    engine = sa.create_engine(migrated_db_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("""
            SELECT p.*, c.pantone_code FROM supplybrain.planning_proposals_latest p
            JOIN supplybrain.color c ON c.id = p.color_id""")).all()
    engine.dispose()
    assert rows
    minimums_applied = deferred = 0
    for r in rows:
        explanation = r.explanation
        assert set(explanation) == {"inputs", "settings", "steps"}
        assert explanation["inputs"]["demand_rate"] == r.demand_rate
        names = [s["step"] for s in explanation["steps"]]
        assert names[:5] == MATHS
        assert explanation["steps"][4]["quantity"] == r.raw_quantity
        group = pantone_group(r.color_id, r.pantone_code)
        assert list(explanation["settings"]["fabric_minimum_by_pantone"]) == [group]
        if len(names) == 5:  # nothing to produce in the article: no minimum steps
            continue
        minimums_applied += 1
        assert names[5] == "input" and names[-1] == "output"
        fabric = [s for s in explanation["steps"] if s["step"] == "fabric_min"]
        assert all(s["pantone"] == group for s in fabric) and len(fabric) <= 1
        added = 0
        for step in explanation["steps"][5:]:
            for line in step.get("added", []):
                assert (line["article_id"], line["color_id"], line["size_id"]) == (
                    r.article_id, r.color_id, r.size_id)
                added += line["added"]
        cover = [s for s in explanation["steps"] if s["step"] == "minimum_cover"]
        if r.limiting_constraint == "deferred_minimum":
            # the minimums would have buried the article: nothing produced, the need kept in
            # raw_quantity, and what the minimums would have made in the record
            deferred += 1
            assert r.recommended_quantity == 0 and len(cover) == 1
            assert cover[0]["flagged"] and cover[0]["action"] == "deferred"
            assert cover[0]["cover_days"] > cover[0]["max_cover_days"] == 365
            would = sum(line["quantity"] for line in cover[0]["would_produce"])
            assert would == r.raw_quantity + added  # no pack step ran on a deferred quantity
            continue
        assert r.raw_quantity + added == r.recommended_quantity
    assert minimums_applied
    assert deferred  # the scenario's slow articles: a 7,000 fabric minimum is years of cover
