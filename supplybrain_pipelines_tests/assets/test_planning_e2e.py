"""Planning end to end: sandbox data ingested, then demand → supply → proposals → risk →
health through the real assets and their blocking checks, on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
import sqlalchemy as sa

from supplybrain_pipelines.assets.ingest import INGEST_ASSETS
from supplybrain_pipelines.assets.planning import PLANNING_ASSETS
from supplybrain_pipelines.assets.planning._common import ACTIVE_SKUS
from supplybrain_pipelines.assets.unified import orders_and_rollup, stock
from supplybrain_pipelines.checks import CHECKS
from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.resources.marketplace import MarketplaceApi
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
from supplybrain_pipelines.sandbox.generator import generate_business
from supplybrain_pipelines.sandbox.seed import load_master_data, register_accounts
from supplybrain_pipelines.sandbox.server import SandboxServer
from supplybrain_pipelines_tests.fixtures_db import url_text

RISK_LEVELS = {"critical", "warning", "ok", "overstock", "no_data"}


def resources(url) -> dict:
    return {"warehouse": PostgresWarehouse(database_url=url_text(url)),
            "marketplace": MarketplaceApi(wb_min_interval_seconds=0)}


def plan(url, instance, as_of: str | None = None, supply_as_of: str | None = None):
    run_config = {"ops": {"demand": {"config": {"as_of": as_of}},
                          "supply": {"config": {"as_of": supply_as_of or as_of}}}}
    return dg.materialize([*PLANNING_ASSETS, *CHECKS], instance=instance, run_config=run_config,
                          resources=resources(url), raise_on_error=False)


def rows(url, query: str) -> list:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        result = conn.execute(sa.text(query)).all()
    engine.dispose()
    return result


@pytest.fixture
def ingested_db(migrated_db_url, dagster_instance):
    business = generate_business(seed=5, articles=4)
    with SandboxServer(business, page_cap=500) as sandbox:
        engine = sa.create_engine(migrated_db_url)
        with engine.begin() as conn:
            load_master_data(conn, business)
            register_accounts(conn, business, sandbox.url)
        engine.dispose()
        result = dg.materialize(
            [*INGEST_ASSETS, orders_and_rollup, stock], instance=dagster_instance,
            resources=resources(migrated_db_url),
            run_config={"ops": {name: {"config": {"backfill_days": 150,
                                                  "page_budget_seconds": None}} for name in (
                "wb_orders", "wb_sales", "wb_stocks", "moysklad_assortment",
                "moysklad_customer_orders", "moysklad_stock")}})
        assert result.success
    return migrated_db_url


def test_proposals_cover_every_sku_unit_and_explain_themselves(ingested_db, dagster_instance):
    result = plan(ingested_db, dagster_instance)
    assert result.success
    skus = rows(ingested_db, f"SELECT count(*) FROM ({ACTIVE_SKUS}) a")[0][0]
    assert 0 < skus < rows(ingested_db, "SELECT count(*) FROM supplybrain.sku_unit")[0][0]
    assert rows(ingested_db, "SELECT count(*) FROM supplybrain.demand")[0][0] == skus
    assert rows(ingested_db, "SELECT count(*) FROM supplybrain.supply")[0][0] == skus
    latest = rows(ingested_db, "SELECT * FROM supplybrain.planning_proposals_latest")
    assert len(latest) == skus
    assert {r.run_id for r in latest} == {result.run_id}
    # an article whose minimums would exceed the maximum cover is deferred (policy 'defer')
    assert all(r.recommended_quantity >= r.raw_quantity >= 0 if
               r.limiting_constraint != "deferred_minimum" else r.recommended_quantity == 0
               for r in latest)
    assert {r.cover_risk for r in latest} <= RISK_LEVELS
    assert all(r.risk_level == r.cover_risk for r in latest)  # deprecated alias (0016)
    assert any(r.raw_quantity > 0 for r in latest)
    one = next(r for r in latest if r.raw_quantity > 0)
    steps = [s["step"] for s in one.explanation["steps"]]
    assert steps[:5] == ["z", "safety_stock", "reorder_point", "target", "recommend"]
    assert one.explanation["settings"]["lead_time_days"] == [70, "global"]
    # the textbook relations hold row by row
    for r in latest:
        assert r.reorder_point == pytest.approx(r.demand_rate * r.lead_time_days
                                                + r.safety_stock)
        assert r.target_level == pytest.approx(
            r.demand_rate * (r.lead_time_days + r.target_coverage_days) + r.safety_stock)
    # bundles turned into singles: demand from bundles shows up on SKU units
    assert rows(ingested_db, "SELECT sum(units_from_bundles) FROM supplybrain.demand")[0][0] > 0
    risk = rows(ingested_db, "SELECT risk_level FROM supplybrain.bundle_risk")
    assert risk and {r.risk_level for r in risk} <= RISK_LEVELS
    health = rows(ingested_db, "SELECT * FROM supplybrain.planning_health_latest")
    assert health and all(h.worst_risk == h.worst_cover_risk for h in health)  # alias (0016)
    assert len(health) == rows(ingested_db, f"SELECT count(DISTINCT article_id) "
                               f"FROM ({ACTIVE_SKUS}) a")[0][0]
    # the sandbox's articles sell too slowly for a 7,000 fabric minimum: deferred, and flagged
    deferred = {r.article_id for r in latest if r.limiting_constraint == "deferred_minimum"}
    assert deferred
    assert {h.article_id for h in health if h.minimum_exceeds_max_cover} == deferred
    assert all(h.minimum_cover_policy == "defer" and h.minimum_cover_days > 365
               for h in health if h.article_id in deferred)
    assert result.asset_materializations_for_node("planning_proposals")[0].metadata[
        "articles_minimum_exceeds_max_cover"].value == len(deferred)

    # policy 'raise': the old system's quantities, still flagged
    with sa.create_engine(ingested_db).begin() as conn:
        conn.execute(sa.text("UPDATE supplybrain.global_planning_settings "
                             "SET minimum_cover_policy = 'raise'"))
    again = plan(ingested_db, dagster_instance)
    assert again.success
    raised = rows(ingested_db, "SELECT * FROM supplybrain.planning_proposals_latest")
    assert all(r.recommended_quantity >= r.raw_quantity for r in raised)
    assert any(r.recommended_quantity > 0 for r in raised)
    assert {h.article_id for h in rows(ingested_db, "SELECT * FROM "
                                       "supplybrain.planning_health_latest WHERE "
                                       "minimum_exceeds_max_cover AND "
                                       "minimum_cover_policy = 'raise'")} == deferred
    assert rows(ingested_db, "SELECT count(DISTINCT run_id) FROM supplybrain.planning_proposals"
                )[0][0] == 2  # history per run
    assert {r.run_id for r in rows(ingested_db, "SELECT run_id FROM "
                                   "supplybrain.planning_proposals_latest")} == {again.run_id}


def test_inconsistent_inputs_never_produce_proposals(ingested_db, dagster_instance):
    today = datetime.now(UTC).date()
    result = plan(ingested_db, dagster_instance, as_of=today.isoformat(),
                  supply_as_of=(today - timedelta(days=1)).isoformat())
    assert not result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["supply_is_sound"] is False
    assert rows(ingested_db, "SELECT count(*) FROM supplybrain.planning_proposals")[0][0] == 0


def test_an_empty_database_gives_empty_proposals_without_error(migrated_db_url,
                                                                dagster_instance):
    result = plan(migrated_db_url, dagster_instance)
    assert result.success
    for table in (t.demand, t.supply, t.planning_proposals, t.bundle_risk, t.planning_health):
        assert rows(migrated_db_url, f"SELECT count(*) FROM {table.fullname}")[0][0] == 0


def test_a_scenario_imported_from_csv_runs_through_the_asset_graph(migrated_db_url,
                                                                   dagster_instance):
    from supplybrain_pipelines.importer import import_directory
    from supplybrain_pipelines_tests.importer import SCENARIO_SMALL

    report = import_directory(url_text(migrated_db_url), SCENARIO_SMALL)
    assert report.ok, report.lines()
    result = plan(migrated_db_url, dagster_instance, as_of="2026-10-30")
    assert result.success
    skus = rows(migrated_db_url, f"SELECT count(*) FROM ({ACTIVE_SKUS}) a")[0][0]
    latest = rows(migrated_db_url, "SELECT * FROM supplybrain.planning_proposals_latest")
    assert len(latest) == skus == 18
    # the 4-pack's orders reach each of its four recipe colours
    assert rows(migrated_db_url, "SELECT count(*) FROM supplybrain.demand "
                "WHERE units_from_bundles > 0")[0][0] >= 4
    # the open purchase order (ordered, due within the lead time) is in the position
    assert rows(migrated_db_url, "SELECT sum(on_order_within_lead) FROM supplybrain.supply"
                )[0][0] > 0
    assert all(r.as_of.isoformat() == "2026-10-30" for r in latest)
