"""The whole pipeline agrees with itself: sandbox data ingested, planned, then snapshotted; the
snapshot's counters equal what the upstream tables hold."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from supplybrain_pipelines.assets.planning._common import ACTIVE_SKUS
from supplybrain_pipelines.logic.monitoring.windows import floor_window
from supplybrain_pipelines_tests.assets.test_planning_e2e import plan, rows
from supplybrain_pipelines_tests.monitoring.test_snapshot import snap


def test_the_snapshot_of_an_ingested_and_planned_business(ingested_db, dagster_instance):
    # the sandbox's slow sellers would be deferred by the default cover policy (nothing to
    # produce); 'raise' gives the old system's quantities, so the order total is not 0
    with sa.create_engine(ingested_db).begin() as conn:
        conn.execute(sa.text("UPDATE supplybrain.global_planning_settings "
                             "SET minimum_cover_policy = 'raise'"))
    assert plan(ingested_db, dagster_instance).success
    assert snap(ingested_db, dagster_instance, window=None).success
    row = rows(ingested_db, "SELECT * FROM supplybrain.monitoring_status")[0]
    assert row.window_start == floor_window(datetime.now(UTC))
    accounts = rows(ingested_db,
                    "SELECT (SELECT count(*) FROM supplybrain.wb_integration_accounts), "
                    "(SELECT count(*) FROM supplybrain.moysklad_integration_accounts)")[0]
    assert (row.wb_accounts_total, row.ms_accounts_total) == tuple(accounts)
    assert row.wb_accounts_active == row.wb_accounts_total > 0
    risk = dict(rows(ingested_db, f"SELECT risk_level, count(*) FROM supplybrain.bundle_risk "
                     f"WHERE article_id IN (SELECT article_id FROM ({ACTIVE_SKUS}) a) GROUP BY 1"))
    assert sum(risk.values()) > 0
    levels = ("critical", "warning", "ok", "overstock", "no_data")
    assert (row.bundle_risk_critical, row.bundle_risk_warning, row.bundle_risk_ok,
            row.bundle_risk_overstock, row.bundle_risk_no_data) == tuple(
                risk.get(level, 0) for level in levels)
    # the names before migration 0016 still read the same counters (deprecated aliases)
    assert tuple(getattr(row, f"risk_{level}") for level in levels) == tuple(
        getattr(row, f"bundle_risk_{level}") for level in levels)
    (total,) = rows(ingested_db, "SELECT sum(recommended_quantity) FROM "
                    "supplybrain.planning_proposals_latest")[0]
    assert row.total_final_order_qty == total > 0
    # every account synced just now, with no failures
    health = row.details["accounts"]
    assert len(health) == row.wb_accounts_total + row.ms_accounts_total
    assert all(a["ever_synced"] and a["consecutive_failures"] == 0 for a in health)
    assert row.details["metrics"]["max_sync_age_minutes"] < 30
    marks = row.details["watermarks"]
    assert marks["latest_order_at"] and marks["latest_stock_as_of"]
    moscow_today = datetime.now(ZoneInfo("Europe/Moscow")).date()  # the default business day
    assert marks["latest_proposal_as_of"] == moscow_today.isoformat()
    assert row.overall_status in ("ok", "warning", "critical")
    assert row.critical_alerts + row.warning_alerts == len(rows(
        ingested_db, "SELECT 1 FROM supplybrain.monitoring_alerts"))
