"""The snapshot's business status as the asset check ``business_status`` (critical → failed,
ERROR; warning → failed, WARN; ok → passed) and its counters as numeric metadata, on
PostgreSQL through ``dg.materialize``."""

from __future__ import annotations

import dagster as dg
import pytest

from supplybrain_pipelines.assets.monitoring import MONITORING_ASSETS, MONITORING_CHECKS
from supplybrain_pipelines.assets.monitoring.checks import status_reason
from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.logic.monitoring.rules import Evaluation
from supplybrain_pipelines.resources.notifier import WebhookNotifier
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
from supplybrain_pipelines_tests.fixtures_db import execute, url_text
from supplybrain_pipelines_tests.monitoring.test_snapshot import (
    add_accounts,
    add_rows,
    fetch_all,
    latest,
    snap,
)


def status_check(result) -> dg.AssetCheckEvaluation:
    (evaluation,) = [e for e in result.get_asset_check_evaluations()
                     if e.check_name == "business_status"]
    assert evaluation.asset_key == dg.AssetKey("monitoring_snapshot")
    return evaluation


def metadata(result) -> dict:
    return result.asset_materializations_for_node("monitoring_snapshot")[0].metadata


def test_a_critical_window_fails_the_check_with_error_severity(migrated_db_url,
                                                                dagster_instance):
    # Empty database, seed rules: three critical alerts (no WB, no MS account, no final order).
    result = snap(migrated_db_url, dagster_instance)
    assert result.success  # a bad business status is not a failed run
    check = status_check(result)
    assert (check.passed, check.severity) == (False, dg.AssetCheckSeverity.ERROR)
    assert check.description == (
        "critical: Нет активных WB аккаунтов: wb_accounts_active = 0 is below 1; "
        "Нет активных MS аккаунтов: ms_accounts_active = 0 is below 1; "
        "Итоговый заказ отсутствует: total_final_order_qty = 0 is below 1")
    assert check.metadata["overall_status"].value == "critical"
    assert check.metadata["critical_alerts"] == dg.MetadataValue.int(3)
    assert check.metadata["warning_alerts"] == dg.MetadataValue.int(1)
    assert [a["name"] for a in check.metadata["alerts"].value] == [
        "Нет активных WB аккаунтов", "Нет активных MS аккаунтов", "Нет статей с финальным заказом",
        "Итоговый заказ отсутствует"]
    assert latest(migrated_db_url).overall_status == "critical"


def test_a_warning_window_fails_the_check_with_warn_severity(migrated_db_url,
                                                              dagster_instance):
    execute(migrated_db_url, "DELETE FROM supplybrain.monitoring_alert_rules")
    execute(migrated_db_url, """INSERT INTO supplybrain.monitoring_alert_rules
        (name, metric, threshold_type, threshold_value, severity) VALUES
        ('many warnings', 'bundle_risk_warning', 'above', 1, 'warning')""")
    add_accounts(migrated_db_url, wb=[True], ms=[True])
    add_rows(migrated_db_url, t.bundle_risk, [
        {"article_id": 1, "bundle_type_id": i, "risk_level": "warning"} for i in range(2)])
    check = status_check(snap(migrated_db_url, dagster_instance))
    assert (check.passed, check.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert check.description == "warning: many warnings: bundle_risk_warning = 2 is above 1"
    assert check.metadata["warning_alerts"] == dg.MetadataValue.int(1)
    assert latest(migrated_db_url).overall_status == "warning"


def test_a_warning_without_alerts_says_why(migrated_db_url, dagster_instance):
    execute(migrated_db_url, "DELETE FROM supplybrain.monitoring_alert_rules")
    check = status_check(snap(migrated_db_url, dagster_instance))
    assert (check.passed, check.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert check.description == ("warning: no alert fired, but no active WB account, "
                                 "no active MoySklad account")


def test_the_reason_names_critical_risk_when_no_alert_fired():
    values = {"bundle_risk_critical": 2, "wb_accounts_active": 1, "ms_accounts_active": 1}
    assert status_reason("warning", Evaluation([], []), values) == (
        "no alert fired, but 2 bundle entries at critical bundle risk")


def test_an_ok_window_passes_the_check(migrated_db_url, dagster_instance):
    # The seed rules with one active account each and a final order: nothing fires.
    add_accounts(migrated_db_url, wb=[True], ms=[True])
    add_rows(migrated_db_url, t.planning_proposals, [
        {"run_id": "r", "sku_unit_id": 1, "article_id": 1, "recommended_quantity": 5}])
    check = status_check(snap(migrated_db_url, dagster_instance))
    assert check.passed is True
    assert check.description == "ok: no alert fired"
    assert check.metadata["critical_alerts"] == dg.MetadataValue.int(0)
    assert latest(migrated_db_url).overall_status == "ok"


def test_counters_and_metrics_are_numeric_metadata(migrated_db_url, dagster_instance):
    add_accounts(migrated_db_url, wb=[True, False], ms=[True])
    add_rows(migrated_db_url, t.bundle_risk, [
        {"article_id": 1, "bundle_type_id": i, "risk_level": level}
        for i, level in enumerate(["critical", "warning", "warning"])])
    add_rows(migrated_db_url, t.planning_proposals, [
        {"run_id": "r", "sku_unit_id": s, "article_id": a, "recommended_quantity": q}
        for s, a, q in [(1, 1, 4), (2, 1, 3), (3, 2, 0)]])
    meta = metadata(snap(migrated_db_url, dagster_instance))
    expected_ints = {"wb_accounts_total": 2, "wb_accounts_active": 1, "ms_accounts_total": 1,
                     "ms_accounts_active": 1, "bundle_risk_critical": 1,
                     "bundle_risk_warning": 2, "bundle_risk_ok": 0, "bundle_risk_overstock": 0,
                     "bundle_risk_no_data": 0,
                     "articles_with_orders": 1, "total_final_order_qty": 7,
                     "critical_alerts": 1, "warning_alerts": 0, "accounts_suspended": 0,
                     "quarantined_last_24h": 0, "unmatched_items": 0}
    assert {k: meta[k] for k in expected_ints} == {
        k: dg.MetadataValue.int(v) for k, v in expected_ints.items()}
    assert meta["orders_last_24h"] == dg.MetadataValue.float(0.0)
    # No run in the hour before WINDOW on this fresh instance: the slot was idle.
    for idle in ("slot_busy_share", "slot_busy_pct", "queue_wait_max_seconds"):
        assert meta[idle] == dg.MetadataValue.float(0.0)
    # No order, no stock and no token expiry yet: those metrics are absent, not text.
    for absent in ("minutes_since_last_order", "minutes_since_stock", "min_token_days_left",
                   "orders_vs_prev_7d_pct"):
        assert absent not in meta
    assert meta["overall_status"].value == "critical"


def test_the_asset_cannot_run_without_its_status_check(migrated_db_url, dagster_instance):
    with pytest.raises(dg.DagsterInvalidDefinitionError):
        dg.materialize(
            [*MONITORING_ASSETS, *MONITORING_CHECKS], instance=dagster_instance,
            selection=dg.AssetSelection.assets("monitoring_snapshot").without_checks(),
            resources={"warehouse": PostgresWarehouse(database_url=url_text(migrated_db_url)),
                       "notifier": WebhookNotifier(url=None)})
    assert fetch_all(migrated_db_url, "SELECT count(*) AS n FROM "
                     "supplybrain.monitoring_snapshots")[0].n == 0
