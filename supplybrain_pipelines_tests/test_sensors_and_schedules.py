"""The WB account backfill sensor and the ingestion schedule's timing, on real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import sqlalchemy as sa
from dagster._utils.schedules import cron_string_iterator

from supplybrain_pipelines.db import tables as t
from supplybrain_pipelines.definitions import defs
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
from supplybrain_pipelines.sensors import wb_account_backfill_sensor
from supplybrain_pipelines.token_crypto import encrypt_token
from supplybrain_pipelines_tests.fixtures_db import url_text


def evaluate(instance, warehouse, cursor=None):
    with dg.build_sensor_context(instance=instance, cursor=cursor,
                                 resources={"warehouse": warehouse}) as context:
        result = wb_account_backfill_sensor(context)
        return result, result.cursor


def add_account(url, name: str) -> int:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        return conn.execute(sa.insert(t.wb_integration_accounts).values(
            name=name, api_token_encrypted=encrypt_token("x" * 40))
            .returning(t.wb_integration_accounts.c.id)).scalar_one()


def set_active(url, account_id: int, active: bool) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.update(t.wb_integration_accounts).where(
            t.wb_integration_accounts.c.id == account_id).values(
            is_active=active, updated_at=sa.func.clock_timestamp()))


def test_backfill_sensor_starts_one_run_per_new_or_reactivated_account(migrated_db_url,
                                                                     dagster_instance):
    warehouse = PostgresWarehouse(database_url=url_text(migrated_db_url))
    empty, cursor = evaluate(dagster_instance, warehouse)
    assert empty.skip_reason and not empty.run_requests

    first = add_account(migrated_db_url, "shop")
    result, cursor = evaluate(dagster_instance, warehouse, cursor)
    # nothing has ingested stock on this instance yet: one full ingest run goes first
    first_sync, request = result.run_requests
    assert first_sync.run_key == "first-sync" and first_sync.asset_selection is None
    assert first_sync.run_config == {}
    assert request.run_config["ops"]["wb_orders"]["config"] == {"account_ids": [first],
                                                               "backfill_days": 90}
    assert dg.AssetKey("wb_orders") in request.asset_selection
    assert dg.AssetKey("orders") in request.asset_selection

    again, cursor = evaluate(dagster_instance, warehouse, cursor)
    assert again.skip_reason and not again.run_requests

    set_active(migrated_db_url, first, False)
    off, cursor = evaluate(dagster_instance, warehouse, cursor)
    assert off.skip_reason and not off.run_requests
    set_active(migrated_db_url, first, True)
    back, cursor = evaluate(dagster_instance, warehouse, cursor)
    (reactivated,) = back.run_requests[1:]  # [0]: the first sync, deduplicated by its run key
    assert back.run_requests[0].run_key == "first-sync"
    assert reactivated.run_key != request.run_key


def test_no_first_sync_once_stock_was_ingested(migrated_db_url, dagster_instance):
    warehouse = PostgresWarehouse(database_url=url_text(migrated_db_url))
    dagster_instance.report_runless_asset_event(dg.AssetMaterialization("stock"))
    add_account(migrated_db_url, "shop")
    result, _cursor = evaluate(dagster_instance, warehouse)
    (request,) = result.run_requests
    assert request.run_key.startswith("wb-backfill-")


def test_ingestion_ticks_ten_minutes_before_each_snapshot_slot():
    schedule = defs.resolve_schedule_def("ingest_every_15m")
    start = datetime(2026, 11, 26, 9, 59, tzinfo=UTC).timestamp()
    ticks = cron_string_iterator(start, schedule.cron_schedule, "UTC")
    minutes = [next(ticks).minute for _ in range(5)]
    assert minutes == [5, 20, 35, 50, 5]
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def test_backfill_sensor_is_running_by_default():
    sensor = defs.resolve_sensor_def("wb_account_backfill_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
