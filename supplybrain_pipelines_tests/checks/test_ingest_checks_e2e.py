"""The ingestion checks in the real ``ingest`` job (jobs.py's selection, the code location's
CHECKS) against the sandbox over HTTP into PostgreSQL: evaluated in the same run as the assets,
passing on the sandbox's clean business, failing on malformed and unknown records."""

from __future__ import annotations

from datetime import date

import dagster as dg
import pytest

from supplybrain_pipelines.assets.ingest import INGEST_ASSETS
from supplybrain_pipelines.assets.unified import orders_and_rollup, stock
from supplybrain_pipelines.checks import CHECKS
from supplybrain_pipelines.jobs import ingest_job
from supplybrain_pipelines.resources.marketplace import MarketplaceApi
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
from supplybrain_pipelines.sandbox.generator import generate_business
from supplybrain_pipelines.sandbox.malformed import KINDS
from supplybrain_pipelines.sandbox.model import Business
from supplybrain_pipelines_tests.fixtures_db import execute, url_text

ENDPOINT_ASSETS = ("wb_orders", "wb_sales", "wb_stocks", "moysklad_assortment",
                   "moysklad_customer_orders", "moysklad_stock")
ENDPOINT_CHECKS = ("quarantine_share_low", "barcodes_matched", "accounts_fresh")


@pytest.fixture(scope="module")
def business() -> Business:
    # a fixed day, so that the counts below are the same every day (read back to it)
    return generate_business(seed=11, as_of=date(2026, 11, 1), days=60, articles=3)


def run_ingest_job(url, instance) -> dg.ExecuteInProcessResult:
    """The ``ingest`` job as the code location defines it (its selection, the CHECKS list)."""
    defs = dg.Definitions(
        assets=[*INGEST_ASSETS, orders_and_rollup, stock], asset_checks=CHECKS, jobs=[ingest_job],
        resources={"warehouse": PostgresWarehouse(database_url=url_text(url)),
                   "marketplace": MarketplaceApi(wb_min_interval_seconds=0, max_attempts=2,
                                                 backoff_max_seconds=0.1)})
    config = {"backfill_days": (date.today() - date(2026, 8, 1)).days,
              "page_budget_seconds": None}
    return defs.resolve_job_def("ingest").execute_in_process(
        instance=instance, raise_on_error=False,
        run_config={"ops": {name: {"config": config} for name in ENDPOINT_ASSETS}})


def evaluations(result) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {(e.asset_key.to_user_string(), e.check_name): e
            for e in result.get_asset_check_evaluations()}


def meta(evaluation: dg.AssetCheckEvaluation) -> dict:
    return {key: value.value for key, value in evaluation.metadata.items()}


def test_the_ingest_job_evaluates_every_ingestion_check_in_its_run(seeded_db, dagster_instance,
                                                                    business):
    result = run_ingest_job(seeded_db, dagster_instance)
    assert result.success
    found = evaluations(result)
    expected = {(asset, check) for asset in ENDPOINT_ASSETS for check in ENDPOINT_CHECKS}
    expected.add(("orders", "orders_reconcile"))
    assert set(found) == expected  # 19, in the job's own run
    assert result.dagster_run.job_name == "ingest"
    # the sandbox's business holds two MoySklad items that match no SKU unit on purpose (a
    # limited colour and a gift, sandbox/moysklad_data.py): every feed that carries them warns
    failed = {key for key, e in found.items() if not e.passed}
    assert failed == {("moysklad_assortment", "barcodes_matched"),
                      ("moysklad_customer_orders", "barcodes_matched"),
                      ("moysklad_stock", "barcodes_matched")}
    assert {found[key].severity for key in failed} == {dg.AssetCheckSeverity.WARN}
    designed = {f"1 {item}" for item in business.ms_unmatched_ids}
    assortment = meta(found[("moysklad_assortment", "barcodes_matched")])
    assert assortment["unmatched_items"] == 2
    assert set(assortment["unmatched_items_examples"].split(", ")) == designed
    ordered = meta(found[("moysklad_customer_orders", "barcodes_matched")])
    assert ordered["unmatched_items"] == 1  # only the gift is ordered
    assert ordered["unmatched_items_examples"] in designed
    # nothing quarantined, every account synced now, the unified orders match the raw rows
    orders = meta(found[("orders", "orders_reconcile")])
    assert (orders["missing"], orders["differing"], orders["without_raw_row"]) == (0, 0, 0)
    wb = meta(found[("wb_orders", "quarantine_share_low")])
    assert (wb["quarantined"], wb["share"]) == (0, 0.0)
    assert wb["records_read"] > 0
    assert meta(found[("wb_stocks", "accounts_fresh")])["stale_accounts"] == 0


def test_malformed_and_unknown_records_fail_the_quarantine_and_barcode_checks(
        seeded_db, dagster_instance, sandbox):
    sandbox.faults.malformed(set(KINDS) - {"huge_text"})
    result = run_ingest_job(seeded_db, dagster_instance)
    assert result.success  # the ingestion checks block nothing
    found = evaluations(result)
    # 288 of 2983 WB orders: 9.65 %, above 1 % (WARN), not above 10 %
    orders = found[("wb_orders", "quarantine_share_low")]
    assert (orders.passed, orders.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert (meta(orders)["quarantined"], meta(orders)["records_read"]) == (288, 2983)
    assert meta(orders)["share"] == 0.096547
    assert "missing_field: 24" in meta(orders)["reasons"]
    # 88 of 488 stock rows (18 %) and 44 of 219 MoySklad orders (20 %): above 10 %, ERROR
    for key, quarantined, read in ((("wb_stocks", "quarantine_share_low"), 88, 488),
                                   (("moysklad_customer_orders", "quarantine_share_low"), 44,
                                    219)):
        assert (found[key].passed, found[key].severity) == (False, dg.AssetCheckSeverity.ERROR)
        assert (meta(found[key])["quarantined"], meta(found[key])["records_read"]) == (
            quarantined, read)
    # the unknown barcodes and assortment items the sandbox slipped in
    assert not found[("wb_orders", "barcodes_matched")].passed
    assert meta(found[("wb_orders", "barcodes_matched")])["unmatched_items"] == 9
    assert meta(found[("moysklad_customer_orders", "barcodes_matched")])["unmatched_items"] == 3
    # nothing bad landed in orders
    assert found[("orders", "orders_reconcile")].passed


def test_the_code_locations_jobs_carry_the_checks_of_their_assets():
    from supplybrain_pipelines.definitions import defs

    def checks_of(job: str) -> set[tuple[str, str]]:
        graph = defs.resolve_job_def(job).asset_layer.asset_graph
        return {(key.asset_key.to_user_string(), key.name) for key in graph.asset_check_keys}

    ingest = {(asset, check) for asset in ENDPOINT_ASSETS for check in ENDPOINT_CHECKS}
    assert checks_of("ingest") == ingest | {("orders", "orders_reconcile")}
    assert checks_of("planning") == {
        ("demand", "demand_is_sound"), ("demand", "demand_is_plausible"),
        ("supply", "supply_is_sound"), ("planning_proposals", "proposals_are_complete"),
        ("bundle_risk", "bundle_risk_is_complete")}


def test_materializing_one_feed_evaluates_only_its_checks(seeded_db, dagster_instance):
    from supplybrain_pipelines.assets.ingest import wb_orders

    result = dg.materialize(
        [wb_orders, *CHECKS], instance=dagster_instance,
        resources={"warehouse": PostgresWarehouse(database_url=url_text(seeded_db)),
                   "marketplace": MarketplaceApi(wb_min_interval_seconds=0)},
        run_config={"ops": {"wb_orders": {"config": {
            "backfill_days": (date.today() - date(2026, 8, 1)).days,
            "page_budget_seconds": None}}}})
    assert result.success
    found = evaluations(result)
    assert set(found) == {("wb_orders", check) for check in ENDPOINT_CHECKS}
    assert all(e.passed for e in found.values())


def test_a_check_that_cannot_run_leaves_the_others_results(seeded_db, dagster_instance):
    from supplybrain_pipelines.assets.ingest import wb_orders

    resources = {"warehouse": PostgresWarehouse(database_url=url_text(seeded_db)),
                 "marketplace": MarketplaceApi(wb_min_interval_seconds=0)}
    config = {"ops": {"wb_orders": {"config": {
        "backfill_days": (date.today() - date(2026, 8, 1)).days, "page_budget_seconds": None}}}}
    assert dg.materialize([wb_orders], instance=dagster_instance, resources=resources,
                          run_config=config).success
    # quarantine_share_low, evaluated first, reads the quarantine table; without it that check
    # fails, the ones after it do not
    execute(seeded_db, "ALTER TABLE supplybrain.quarantine RENAME TO quarantine_away")
    result = dg.materialize([wb_orders, *CHECKS], instance=dagster_instance,
                            resources=resources, raise_on_error=False,
                            selection=dg.AssetSelection.checks_for_assets(wb_orders))
    assert not result.success
    found = evaluations(result)
    assert set(found) == {("wb_orders", "barcodes_matched"), ("wb_orders", "accounts_fresh")}
    assert all(e.passed for e in found.values())
