"""The 15-minute schedule at a fixed time, the missing-windows check and daily retention (of
monitoring history and of planning runs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import sqlalchemy as sa

from supplybrain_pipelines.assets.monitoring import monitoring_snapshot, no_missing_windows
from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.freshness import with_freshness
from supplybrain_pipelines.logic.monitoring.windows import floor_window
from supplybrain_pipelines.maintenance import monitoring_retention, planning_retention
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
from supplybrain_pipelines.schedules import SCHEDULES, monitoring_schedule
from supplybrain_pipelines_tests.fixtures_db import engine, execute, fetch_all, url_text

TICK = datetime(2026, 11, 26, 6, 15, tzinfo=UTC)


def warehouse(url) -> PostgresWarehouse:
    return PostgresWarehouse(database_url=url_text(url))


def add_snapshots(url, windows: list[datetime], with_alert: bool = False) -> None:
    eng = engine(url)
    with eng.begin() as conn:
        for window in windows:
            sid = conn.execute(sa.insert(t.monitoring_snapshots).values(
                window_start=window, schema_version=1, overall_status="ok").returning(
                t.monitoring_snapshots.c.id)).scalar_one()
            if with_alert:
                conn.execute(sa.insert(t.monitoring_alerts).values(
                    snapshot_id=sid, window_start=window, rule_name="r", metric="bundle_risk_ok",
                    severity="warning", threshold_type="below", threshold_value=1,
                    current_value=0))
    eng.dispose()


def count(url, table: sa.Table) -> int:
    eng = engine(url)
    with eng.connect() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    eng.dispose()
    return n


def test_the_schedule_asks_for_the_window_of_its_tick(dagster_instance):
    assert monitoring_schedule.cron_schedule == "*/15 * * * *"
    # No other schedule of the project ticks on the snapshot's quarter hours.
    others = {s.cron_schedule for s in SCHEDULES if s is not monitoring_schedule}
    assert not any(cron.split()[0].startswith(("*/15", "0")) for cron in others), others
    assert monitoring_schedule.execution_timezone == "UTC"
    assert monitoring_schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    # Entered and left: the context sets the instance's defs-state storage as the current one.
    with dg.build_schedule_context(instance=dagster_instance,
                                   scheduled_execution_time=TICK) as context:
        request = monitoring_schedule.evaluate_tick(context).run_requests[0]
    assert request.run_key == TICK.isoformat()
    window = request.run_config["ops"]["monitoring_snapshot"]["config"]["window_start"]
    assert datetime.fromisoformat(window) == TICK


def test_the_check_reports_the_missing_windows_of_the_last_24_hours(migrated_db_url):
    current = floor_window(datetime.now(UTC))
    windows = [current - timedelta(minutes=15 * i) for i in range(1, 9)]
    add_snapshots(migrated_db_url, [w for i, w in enumerate(windows) if i not in (2, 5)])
    result = no_missing_windows(warehouse=warehouse(migrated_db_url))
    assert not result.passed
    assert result.severity == dg.AssetCheckSeverity.WARN
    assert result.metadata["missing_windows"].value == 2
    assert result.metadata["first_missing"].value == [windows[5].isoformat(),
                                                      windows[2].isoformat()]


def test_the_check_passes_without_gaps_and_on_an_empty_table(migrated_db_url):
    assert no_missing_windows(warehouse=warehouse(migrated_db_url)).passed
    current = floor_window(datetime.now(UTC))
    add_snapshots(migrated_db_url, [current - timedelta(minutes=15 * i) for i in range(1, 4)])
    assert no_missing_windows(warehouse=warehouse(migrated_db_url)).passed


def test_retention_prunes_snapshots_and_their_alerts_beyond_the_horizon(migrated_db_url):
    now = floor_window(datetime.now(UTC))
    add_snapshots(migrated_db_url, [now - timedelta(days=d) for d in (500, 401, 399, 10, 0)],
                  with_alert=True)
    resources = {"warehouse": warehouse(migrated_db_url)}
    result = monitoring_retention.execute_in_process(resources=resources)
    assert result.success
    assert count(migrated_db_url, t.monitoring_snapshots) == 3
    assert count(migrated_db_url, t.monitoring_alerts) == 3
    monitoring_retention.execute_in_process(resources=resources, run_config={
        "ops": {"prune_monitoring_history": {"config": {"horizon_days": 5}}}})
    assert count(migrated_db_url, t.monitoring_snapshots) == 1
    assert count(migrated_db_url, t.monitoring_alerts) == 1


def test_the_snapshot_warns_after_20_minutes_and_fails_after_35():
    # freshness.py: a 15-minute cron and a 5-minute budget (the UI words 45 min as "an hour")
    (snapshot,) = with_freshness([monitoring_snapshot])
    policy = next(iter(snapshot.specs)).freshness_policy
    assert policy.warn_window.to_timedelta() == timedelta(minutes=20)
    assert policy.fail_window.to_timedelta() == timedelta(minutes=35)


def add_planning_runs(url, ages_days: dict[str, int]) -> None:
    """One proposal row and one planning-health row per run, computed ``age`` days ago."""
    now = datetime.now(UTC)
    rows = []
    for run_id, age in ages_days.items():
        at = now - timedelta(days=age)
        rows.append(f"""
            INSERT INTO supplybrain.planning_proposals (run_id, as_of, computed_at, sku_unit_id,
                article_id, color_id, size_id, demand_rate, sigma_daily, on_hand,
                on_order_within_lead, position, lead_time_days, target_coverage_days,
                service_level, safety_stock, reorder_point, target_level, raw_quantity,
                recommended_quantity, reason, cover_risk, limiting_constraint, explanation)
            VALUES ('{run_id}', DATE '{at.date()}', '{at.isoformat()}', 1, 1, 1, 1, 1, 0, 0, 0,
                    0, 70, 60, 0.9, 0, 0, 0, 0, 0, 'test', 'ok', 'none', '{{}}');
            INSERT INTO supplybrain.planning_health (run_id, article_id, as_of, computed_at,
                worst_cover_risk, sku_units, sku_units_to_produce, total_recommended,
                dominant_constraint)
            VALUES ('{run_id}', 1, DATE '{at.date()}', '{at.isoformat()}', 'ok', 1, 0, 0,
                    'none');""")
    execute(url, "\n".join(rows))


def test_planning_retention_keeps_the_horizon_and_always_the_newest_run(migrated_db_url):
    add_planning_runs(migrated_db_url, {"r-45": 45, "r-31": 31, "r-29": 29, "r-1": 1})
    resources = {"warehouse": warehouse(migrated_db_url)}
    result = planning_retention.execute_in_process(resources=resources)
    assert result.success
    runs = "SELECT run_id FROM supplybrain.{} ORDER BY computed_at"
    assert fetch_all(migrated_db_url, runs.format("planning_proposals")) == [("r-29",), ("r-1",)]
    assert fetch_all(migrated_db_url, runs.format("planning_health")) == [("r-29",), ("r-1",)]
    # a horizon that every run is past: the newest run (r-1) still stays
    planning_retention.execute_in_process(resources=resources, run_config={
        "ops": {"prune_planning_history": {"config": {"horizon_days": 1}}}})
    assert fetch_all(migrated_db_url, runs.format("planning_proposals")) == [("r-1",)]
    assert fetch_all(migrated_db_url, runs.format("planning_health")) == [("r-1",)]
