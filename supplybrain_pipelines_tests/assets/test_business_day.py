"""Days are business days: calendar days in SUPPLYBRAIN_BUSINESS_TZ (default Europe/Moscow,
UTC+3 all year), while ``ordered_at`` stays UTC. Two orders of the same UTC day, 20:30 UTC
(23:30 Moscow, 1 March) and 21:30 UTC (00:30 Moscow, 2 March), land on two Moscow days, through
the ``orders`` refresh asset and through ``supplybrain import``."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import dagster as dg

from supplybrain_pipelines.assets.unified import orders_and_rollup
from supplybrain_pipelines.config import BUSINESS_TZ_ENV
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
from supplybrain_pipelines_tests.assets.test_unified_orders import raw_order_at as raw_order
from supplybrain_pipelines_tests.fixtures_db import cli_env, fetch_all, url_text
from supplybrain_pipelines_tests.importer import SCENARIO_SMALL
from supplybrain_pipelines_tests.importer.test_cli import supplybrain_import

DAILY = "SELECT day, units_net FROM supplybrain.orders_daily WHERE item_key = :key ORDER BY day"


def refresh(url) -> None:
    result = dg.materialize([orders_and_rollup], resources={
        "warehouse": PostgresWarehouse(database_url=url_text(url))})
    assert result.success


def a_barcode(url) -> str:
    return fetch_all(url, "SELECT wb_sku FROM supplybrain.article_wb_mapping ORDER BY id "
                     "LIMIT 1")[0][0]


def test_the_orders_refresh_rolls_up_by_moscow_day(db, monkeypatch):
    monkeypatch.delenv(BUSINESS_TZ_ENV, raising=False)
    barcode = a_barcode(db)
    raw_order(db, "late-evening", barcode, "2026-03-01T20:30:00+00:00")  # 23:30 Moscow, 1 Mar
    raw_order(db, "after-midnight", barcode, "2026-03-01T21:30:00+00:00")  # 00:30, 2 Mar
    refresh(db)
    assert fetch_all(db, DAILY, key=barcode) == [(date(2026, 3, 1), 1), (date(2026, 3, 2), 1)]
    # The order times themselves stay UTC.
    assert fetch_all(db, "SELECT order_id, ordered_at FROM supplybrain.orders ORDER BY 2") == [
        ("late-evening", datetime(2026, 3, 1, 20, 30, tzinfo=UTC)),
        ("after-midnight", datetime(2026, 3, 1, 21, 30, tzinfo=UTC))]


def test_the_business_time_zone_is_configurable(db, monkeypatch):
    monkeypatch.setenv(BUSINESS_TZ_ENV, "UTC")
    barcode = a_barcode(db)
    raw_order(db, "late-evening", barcode, "2026-03-01T20:30:00+00:00")
    raw_order(db, "after-midnight", barcode, "2026-03-01T21:30:00+00:00")
    refresh(db)
    assert fetch_all(db, DAILY, key=barcode) == [(date(2026, 3, 1), 2)]


def test_supplybrain_import_rolls_up_by_moscow_day(migrated_db_url, tmp_path):
    scenario = Path(shutil.copytree(SCENARIO_SMALL, tmp_path / "scenario"))
    (scenario / "orders.csv").write_text(
        "channel,account_id,order_id,ordered_at,barcode,quantity,price\n"
        "wb,1,late-evening,2026-09-01T20:30:00Z,4601234500002,1,1490.00\n"
        "wb,1,after-midnight,2026-09-01T21:30:00Z,4601234500002,1,1490.00\n"
        "wb,1,moscow-offset,2026-09-02T00:45:00+03:00,4601234500002,1,1490.00\n")
    done = supplybrain_import(scenario, cli_env(migrated_db_url))
    assert done.returncode == 0, done.stdout + done.stderr
    assert ("orders.csv -> orders: 3 rows: 3 inserted, 0 updated, 0 unchanged; "
            "orders_daily rebuilt for 2 days") in done.stdout.splitlines()
    assert fetch_all(migrated_db_url, "SELECT day, units_net, revenue FROM "
                     "supplybrain.orders_daily ORDER BY day") == [
        (date(2026, 9, 1), 1, Decimal("1490.00")),
        (date(2026, 9, 2), 2, Decimal("2980.00"))]
