"""The account sync sensor and the schedules' timing, on real PostgreSQL and a real instance."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import dagster as dg
import sqlalchemy as sa
from dagster._core.events import DagsterEvent, DagsterEventType
from dagster._core.test_utils import create_run_for_test
from dagster._utils.schedules import cron_string_iterator

from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.definitions import defs
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
from supplybrain_pipelines.sensors import (
    account_rows,
    account_sync_sensor,
    evaluate_accounts,
    follow_up_window,
    follow_ups,
)
from supplybrain_pipelines.token_crypto import encrypt_token
from supplybrain_pipelines_tests.fixtures_db import url_text

WB = {"wb_orders", "wb_sales", "wb_stocks"}
MOYSKLAD = {"moysklad_assortment", "moysklad_customer_orders", "moysklad_stock"}
UNIFIED = {"orders", "orders_daily", "stock"}


#: A time with room before the next quarter hour (a sync in the last 2 minutes waits).
NOW = datetime(2026, 12, 4, 10, 7, tzinfo=UTC)


def evaluate(instance, url, cursor=None, now=NOW):
    """One evaluation of the account sync sensor at ``now``: (result, cursor) as the sensor
    returns them (``account_sync_sensor`` is this with the clock's time)."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = account_rows(conn)
    engine.dispose()
    requests, state, skip = evaluate_accounts(instance, rows, json.loads(cursor or "{}"), now)
    cursor = json.dumps(state, sort_keys=True)
    if requests:
        return dg.SensorResult(run_requests=requests, cursor=cursor), cursor
    return dg.SensorResult(skip_reason=skip, cursor=cursor), cursor


def add_account(url, table: sa.Table, name: str) -> int:
    with sa.create_engine(url).begin() as conn:
        return conn.execute(sa.insert(table).values(
            name=name, api_token_encrypted=encrypt_token("x" * 40))
            .returning(table.c.id)).scalar_one()


def set_active(url, table: sa.Table, account_id: int, active: bool) -> None:
    with sa.create_engine(url).begin() as conn:
        conn.execute(sa.update(table).where(table.c.id == account_id).values(
            is_active=active, updated_at=sa.func.clock_timestamp()))


def sync_of(result: dg.SensorResult) -> dg.RunRequest:
    """The ingest run of an evaluation that saw accounts become active; the other request is
    the observation of the account tables."""
    sync, observe = result.run_requests
    assert (sync.job_name, observe.job_name) == ("ingest", "observe_sources")
    assert observe.run_key == f"{sync.run_key}-observe"
    return sync


def selected(request: dg.RunRequest) -> set[str]:
    return {key.to_user_string() for key in request.asset_selection}


def test_a_new_moysklad_account_gets_one_run_of_its_sources_and_the_unified_assets(
        migrated_db_url, dagster_instance):
    empty, cursor = evaluate(dagster_instance, migrated_db_url)
    assert empty.skip_reason.skip_message == "no account became active"
    assert not empty.run_requests

    shop = add_account(migrated_db_url, t.moysklad_integration_accounts, "warehouse")
    result, cursor = evaluate(dagster_instance, migrated_db_url, cursor)
    request = sync_of(result)
    assert selected(request) == MOYSKLAD | UNIFIED
    assert request.run_config == {"ops": {
        "moysklad_assortment": {"config": {"account_ids": [shop], "backfill_days": 90}},
        "moysklad_customer_orders": {"config": {"account_ids": [shop], "backfill_days": 90}},
        "moysklad_stock": {"config": {"account_ids": [shop], "backfill_days": 90}}}}
    assert request.tags["supplybrain/sync_accounts"] == f"moysklad:{shop}"
    assert request.run_key.startswith("account-sync-")

    again, cursor = evaluate(dagster_instance, migrated_db_url, cursor)
    assert not again.run_requests


def test_a_new_or_reactivated_wb_account_gets_one_run_each_time(migrated_db_url,
                                                                dagster_instance):
    _, cursor = evaluate(dagster_instance, migrated_db_url)
    first = add_account(migrated_db_url, t.wb_integration_accounts, "shop")
    result, cursor = evaluate(dagster_instance, migrated_db_url, cursor)
    request = sync_of(result)
    assert selected(request) == WB | UNIFIED
    assert request.run_config["ops"]["wb_orders"]["config"] == {"account_ids": [first],
                                                               "backfill_days": 90}
    assert set(request.run_config["ops"]) == WB

    again, cursor = evaluate(dagster_instance, migrated_db_url, cursor)
    assert not again.run_requests

    set_active(migrated_db_url, t.wb_integration_accounts, first, False)
    off, cursor = evaluate(dagster_instance, migrated_db_url, cursor)
    assert not off.run_requests
    set_active(migrated_db_url, t.wb_integration_accounts, first, True)
    back, cursor = evaluate(dagster_instance, migrated_db_url, cursor)
    reactivated = sync_of(back)
    assert selected(reactivated) == WB | UNIFIED
    assert reactivated.run_key != request.run_key  # a new updated_at: a run of its own
    # the same evaluation again (a daemon that crashed before storing the cursor) asks for
    # the same run key, which Dagster submits once
    replay, _ = evaluate(dagster_instance, migrated_db_url, cursor=None)
    assert sync_of(replay).run_key == reactivated.run_key


def test_accounts_of_both_kinds_in_one_evaluation_share_one_run(migrated_db_url,
                                                                dagster_instance):
    _, cursor = evaluate(dagster_instance, migrated_db_url)
    wb_a = add_account(migrated_db_url, t.wb_integration_accounts, "a")
    wb_b = add_account(migrated_db_url, t.wb_integration_accounts, "b")
    ms = add_account(migrated_db_url, t.moysklad_integration_accounts, "c")
    result, _ = evaluate(dagster_instance, migrated_db_url, cursor)
    request = sync_of(result)
    assert selected(request) == WB | MOYSKLAD | UNIFIED
    assert request.run_config["ops"]["wb_sales"]["config"]["account_ids"] == [wb_a, wb_b]
    assert request.run_config["ops"]["moysklad_stock"]["config"]["account_ids"] == [ms]
    assert request.tags["supplybrain/sync_accounts"] == f"moysklad:{ms};wb:{wb_a},{wb_b}"


def test_an_account_activated_just_before_a_quarter_hour_is_synced_after_it(
        migrated_db_url, dagster_instance):
    _, cursor = evaluate(dagster_instance, migrated_db_url)
    add_account(migrated_db_url, t.wb_integration_accounts, "late")
    late, cursor = evaluate(dagster_instance, migrated_db_url, cursor,
                            now=datetime(2026, 12, 4, 10, 13, 30, tzinfo=UTC))
    assert not late.run_requests
    assert late.skip_reason.skip_message == (
        "1 account(s) became active: their sync waits for the quarter hour (the page budget "
        "leaves no room before it)")
    after, _ = evaluate(dagster_instance, migrated_db_url, cursor,
                        now=datetime(2026, 12, 4, 10, 15, 20, tzinfo=UTC))
    assert selected(sync_of(after)) == WB | UNIFIED


def test_the_sensor_itself_reads_the_account_tables(migrated_db_url, dagster_instance):
    warehouse = PostgresWarehouse(database_url=url_text(migrated_db_url))
    add_account(migrated_db_url, t.moysklad_integration_accounts, "ms")
    with dg.build_sensor_context(instance=dagster_instance,
                                 resources={"warehouse": warehouse}) as context:
        result = account_sync_sensor(context)
    # now is the clock's: a sync, or (2 minutes before a quarter hour) the wait
    if result.run_requests:
        assert selected(sync_of(result)) == MOYSKLAD | UNIFIED
    else:
        assert "waits for the quarter hour" in result.skip_reason.skip_message
    # no WB account seen (while it waits, the cursor keeps the old, empty "seen" as it was)
    assert json.loads(result.cursor)["seen"].get("wb", {}) == {}


def finish(instance, run, event_type: DagsterEventType) -> None:
    instance.report_dagster_event(DagsterEvent(event_type_value=event_type.value,
                                               job_name=run.job_name), run_id=run.run_id)


def test_the_snapshot_follows_once_the_sync_succeeded_and_planning_landed(migrated_db_url,
                                                                         dagster_instance):
    add_account(migrated_db_url, t.wb_integration_accounts, "shop")
    result, _ = evaluate(dagster_instance, migrated_db_url)
    sync = sync_of(result)
    now = datetime(2026, 12, 4, 10, 7, tzinfo=UTC)
    pending = {sync.run_key: now.timestamp() - 60}

    # the daemon has not submitted the run yet
    assert follow_ups(dagster_instance, pending, now)[:2] == ([], pending)
    run = create_run_for_test(dagster_instance, job_name="ingest", tags=sync.tags,
                              status=dg.DagsterRunStatus.STARTED)
    for key in ("bundle_risk", "planning_proposals"):  # planning from before the sync
        dagster_instance.report_runless_asset_event(dg.AssetMaterialization(key))
    finish(dagster_instance, run, DagsterEventType.RUN_SUCCESS)
    assert follow_ups(dagster_instance, pending, now)[:2] == ([], pending)

    dagster_instance.report_runless_asset_event(dg.AssetMaterialization("bundle_risk"))
    assert follow_ups(dagster_instance, pending, now)[:2] == ([], pending)  # proposals not yet
    dagster_instance.report_runless_asset_event(dg.AssetMaterialization("planning_proposals"))
    (snapshot,), still, _ = follow_ups(dagster_instance, pending, now)
    assert still == {}
    assert snapshot.job_name == "monitoring"
    assert snapshot.run_key == "account-sync-snapshot-2026-12-04T10:00:00+00:00"
    assert snapshot.run_config == {"ops": {"monitoring_snapshot": {"config": {
        "window_start": "2026-12-04T10:00:00+00:00"}}}}


def test_a_failed_or_lost_sync_gets_no_snapshot(migrated_db_url, dagster_instance):
    tags = {"supplybrain/account_sync": "account-sync-0123456789abcdef"}
    run = create_run_for_test(dagster_instance, job_name="ingest", tags=tags,
                              status=dg.DagsterRunStatus.STARTED)
    finish(dagster_instance, run, DagsterEventType.RUN_FAILURE)
    now = datetime(2026, 12, 4, 10, 7, tzinfo=UTC)
    requests, still, notes = follow_ups(
        dagster_instance, {"account-sync-0123456789abcdef": now.timestamp(),
                           "account-sync-never-submitted": now.timestamp() - 2 * 3600 - 1},
        now)
    assert (requests, still) == ([], {})
    assert notes == ["sync account-sync-0123456789abcdef failed: no follow-up snapshot",
                     "sync account-sync-never-submitted or its planning did not land within "
                     "2:00:00: no follow-up snapshot"]


def test_no_follow_up_snapshot_in_the_last_two_minutes_before_a_tick():
    assert follow_up_window(datetime(2026, 12, 4, 10, 7, tzinfo=UTC)) == datetime(
        2026, 12, 4, 10, 0, tzinfo=UTC)
    assert follow_up_window(datetime(2026, 12, 4, 10, 12, 59, tzinfo=UTC)) == datetime(
        2026, 12, 4, 10, 0, tzinfo=UTC)
    assert follow_up_window(datetime(2026, 12, 4, 10, 13, tzinfo=UTC)) is None
    assert follow_up_window(datetime(2026, 12, 4, 10, 14, 59, tzinfo=UTC)) is None


def test_ingestion_ticks_ten_minutes_before_each_snapshot_slot():
    schedule = defs.resolve_schedule_def("ingest_every_15m")
    start = datetime(2026, 11, 26, 9, 59, tzinfo=UTC).timestamp()
    ticks = cron_string_iterator(start, schedule.cron_schedule, "UTC")
    minutes = [next(ticks).minute for _ in range(5)]
    assert minutes == [5, 20, 35, 50, 5]
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def test_account_sync_sensor_is_running_by_default():
    sensor = defs.resolve_sensor_def("account_sync_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert timedelta(seconds=sensor.minimum_interval_seconds) == timedelta(minutes=1)
