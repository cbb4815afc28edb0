"""Migration 0016 on a real PostgreSQL with the rows a database had before it: the risk counters,
rules and alerts become ``bundle_risk_*``, planning's columns ``cover_risk`` and
``worst_cover_risk``; the consumer views show the new names and, for one release, the old ones;
the reader role still reads them; the run-slot rule is added once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from supplybrain_pipelines.db import migrate
from supplybrain_pipelines_tests.db.test_migration_0007 import upgrade_to
from supplybrain_pipelines_tests.fixtures_db import engine, execute, fetch_all

LEVELS = ("critical", "warning", "ok", "overstock", "no_data")


def _as_before_0016(url) -> None:
    """Revision 0002 seeds today's rules: put them back as a database before 0016 had them (old
    metric names, no slot rule), with one default edited by its user, and add a snapshot, an
    alert, a proposal and a health row under the old names."""
    execute(url, "DELETE FROM supplybrain.monitoring_alert_rules WHERE metric = 'slot_busy_pct'")
    execute(url, "UPDATE supplybrain.monitoring_alert_rules SET metric = substr(metric, 8) "
                 "WHERE metric LIKE 'bundle_risk_%'")
    execute(url, "UPDATE supplybrain.monitoring_alert_rules SET threshold_value = 7 "
                 "WHERE metric = 'risk_warning'")
    execute(url, """INSERT INTO supplybrain.monitoring_snapshots (window_start, risk_critical,
        risk_warning, risk_ok, risk_overstock, risk_no_data, schema_version, overall_status)
        VALUES ('2026-12-01T10:00:00Z', 2, 3, 4, 5, 6, 1, 'critical')""")
    execute(url, """INSERT INTO supplybrain.monitoring_alerts (snapshot_id, window_start, rule_id,
        rule_name, metric, severity, threshold_type, threshold_value, current_value)
        SELECT s.id, s.window_start, r.id, r.name, r.metric, r.severity, r.threshold_type,
               r.threshold_value, 2
        FROM supplybrain.monitoring_snapshots s, supplybrain.monitoring_alert_rules r
        WHERE r.metric = 'risk_critical'""")
    execute(url, """INSERT INTO supplybrain.planning_proposals (run_id, as_of, sku_unit_id,
        article_id, color_id, size_id, demand_rate, sigma_daily, on_hand, on_order_within_lead,
        position, lead_time_days, target_coverage_days, service_level, safety_stock,
        reorder_point, target_level, raw_quantity, recommended_quantity, reason, risk_level,
        limiting_constraint, explanation)
        VALUES ('r1', '2026-12-01', 1, 1, 1, 1, 1, 0, 0, 0, 0, 70, 60, 0.9, 0, 0, 0, 0, 0, 'r',
                'critical', 'none', '{}')""")
    execute(url, """INSERT INTO supplybrain.planning_health (run_id, article_id, as_of, worst_risk,
        sku_units, sku_units_to_produce, total_recommended, dominant_constraint)
        VALUES ('r1', 1, '2026-12-01', 'warning', 1, 0, 0, 'none')""")


def test_rows_from_before_keep_their_values_under_the_new_names(empty_db_url):
    upgrade_to(empty_db_url, "0015")
    _as_before_0016(empty_db_url)

    migrate.upgrade(empty_db_url)

    columns = ", ".join(f"bundle_risk_{level}, risk_{level}" for level in LEVELS)
    (status,) = fetch_all(empty_db_url, f"SELECT {columns} FROM supplybrain.monitoring_status")
    # each new column, then its deprecated alias
    assert status == (2, 2, 3, 3, 4, 4, 5, 5, 6, 6)
    (history,) = fetch_all(empty_db_url, "SELECT risk_ok, bundle_risk_ok "
                                         "FROM supplybrain.monitoring_history")
    assert tuple(history) == (4, 4)
    series = dict(fetch_all(empty_db_url, "SELECT metric, value FROM "
                                          "supplybrain.monitoring_timeseries"))
    assert series["bundle_risk_no_data"] == 6 and "risk_no_data" not in series
    rules = fetch_all(empty_db_url, "SELECT metric, threshold_type, threshold_value, severity "
                                    "FROM supplybrain.monitoring_alert_rules ORDER BY id")
    assert [tuple(r) for r in rules] == [
        ("bundle_risk_critical", "above", 0, "critical"),
        ("bundle_risk_warning", "above", 7, "warning"),  # the user's threshold is kept
        ("wb_accounts_active", "below", 1, "critical"),
        ("ms_accounts_active", "below", 1, "critical"),
        ("articles_with_orders", "below", 1, "warning"),
        ("total_final_order_qty", "below", 1, "critical"),
        ("bundle_risk_overstock", "above", 10, "warning"),
        ("bundle_risk_no_data", "above", 3, "warning"),
        ("bundle_risk_ok", "below", 1, "warning"),
        ("slot_busy_pct", "above", 80, "warning")]
    assert fetch_all(empty_db_url, "SELECT metric FROM supplybrain.monitoring_alerts") == [
        ("bundle_risk_critical",)]
    (proposal,) = fetch_all(empty_db_url, "SELECT cover_risk, risk_level "
                                          "FROM supplybrain.planning_proposals_latest")
    assert tuple(proposal) == ("critical", "critical")
    (health,) = fetch_all(empty_db_url, "SELECT worst_cover_risk, worst_risk "
                                        "FROM supplybrain.planning_health_latest")
    assert tuple(health) == ("warning", "warning")


def test_the_renamed_checks_still_refuse_an_unknown_level_and_the_reader_reads_the_views(
        empty_db_url):
    upgrade_to(empty_db_url, "0015")
    _as_before_0016(empty_db_url)
    migrate.upgrade(empty_db_url)

    with pytest.raises(sa.exc.IntegrityError, match="ck_planning_health_worst_cover_risk"):
        execute(empty_db_url, "UPDATE supplybrain.planning_health SET worst_cover_risk = 'bad'")
    with pytest.raises(sa.exc.IntegrityError, match="ck_planning_proposals_cover_risk"):
        execute(empty_db_url, "UPDATE supplybrain.planning_proposals SET cover_risk = 'bad'")
    with engine(empty_db_url).connect() as conn:
        conn.execute(sa.text("SET ROLE supplybrain_reader"))
        for view, column in (("monitoring_status", "risk_critical"),
                             ("monitoring_history", "bundle_risk_critical"),
                             ("monitoring_timeseries", "metric"),
                             ("planning_proposals_latest", "risk_level"),
                             ("planning_health_latest", "worst_cover_risk")):
            assert conn.execute(sa.text(f"SELECT {column} FROM supplybrain.{view}")).all()
