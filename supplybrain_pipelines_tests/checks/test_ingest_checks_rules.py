"""The ingestion checks' rules, each made to pass and to fail on rows written by hand:
the quarantine thresholds, the ingest cadence, stale accounts, unmatched barcodes of the run,
and the reconciliation of raw orders with the unified ``orders``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from supplybrain_pipelines.checks.ingest import (
    ENDPOINTS,
    STALE_AFTER,
    quarantine_verdict,
    reconcile_orders,
    schedule_cadence,
    stale_accounts,
    unmatched_in_run,
)
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
from supplybrain_pipelines_tests.fixtures_db import execute, fetch_all, url_text

WB_ORDERS, WB_STOCKS = ENDPOINTS[0], ENDPOINTS[2]
WARN, ERROR = dg.AssetCheckSeverity.WARN, dg.AssetCheckSeverity.ERROR


@pytest.mark.parametrize(("quarantined", "read", "passed", "severity", "share"), [
    (0, 0, True, WARN, 0.0),        # nothing read: nothing to judge
    (1, 100, True, WARN, 0.01),     # 1 %: not above the WARN line
    (2, 100, False, WARN, 0.02),
    (10, 100, False, WARN, 0.10),   # 10 %: not above the ERROR line
    (11, 100, False, ERROR, 0.11),
    (5, 5, False, ERROR, 1.0),
])
def test_quarantine_thresholds(quarantined, read, passed, severity, share):
    assert quarantine_verdict(quarantined, read) == (passed, severity, pytest.approx(share))


@pytest.mark.parametrize(("cron", "minutes"), [
    ("5-59/15 * * * *", 15),  # the ingest schedule
    ("*/15 * * * *", 15),
    ("0 * * * *", 60),
    ("0,10 * * * *", 50),     # the longest gap counts
    ("40 3 * * *", 1440),
])
def test_cadence_is_the_longest_gap_between_ticks(cron, minutes):
    assert schedule_cadence(cron) == timedelta(minutes=minutes)


def test_stale_after_is_three_ingest_cadences():
    assert timedelta(minutes=45) == STALE_AFTER


NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # cut-off: 11:15


def test_stale_accounts(migrated_db_url):
    execute(migrated_db_url, """
        INSERT INTO supplybrain.wb_integration_accounts (id, name, is_active, created_at,
                                                         api_token_encrypted) VALUES
            (1, 'fresh', true, '2026-11-01Z', 'gAAAAA-fake'),
            (2, 'stale', true, '2026-11-01Z', 'gAAAAA-fake'),
            (3, 'never tried', true, '2026-11-01Z', 'gAAAAA-fake'),
            (4, 'young', true, '2026-12-01T11:30Z', 'gAAAAA-fake'),
            (5, 'switched off', false, '2026-11-01Z', 'gAAAAA-fake'),
            (6, 'failing', true, '2026-11-01Z', 'gAAAAA-fake'),
            (7, 'at the limit', true, '2026-11-01Z', 'gAAAAA-fake'),
            (8, 'fresh elsewhere', true, '2026-11-01Z', 'gAAAAA-fake');
        INSERT INTO supplybrain.account_health (account_kind, account_id, endpoint,
                                                last_attempt_at, last_success_at) VALUES
            ('wb', 1, 'orders', '2026-12-01T11:50Z', '2026-12-01T11:50Z'),
            ('wb', 2, 'orders', '2026-12-01T11:50Z', '2026-12-01T11:10Z'),
            ('wb', 5, 'orders', '2026-11-02Z', '2026-11-02Z'),
            ('wb', 6, 'orders', '2026-12-01T11:55Z', NULL),
            ('wb', 7, 'orders', '2026-12-01T11:15Z', '2026-12-01T11:15Z'),
            ('wb', 8, 'orders', '2026-12-01T09:00Z', '2026-12-01T09:00Z'),
            ('wb', 8, 'stocks', '2026-12-01T11:55Z', '2026-12-01T11:55Z'),
            ('moysklad', 3, 'orders', '2026-12-01T11:55Z', '2026-12-01T11:55Z')""")
    warehouse = PostgresWarehouse(database_url=url_text(migrated_db_url))
    result = stale_accounts(warehouse, WB_ORDERS, now=NOW)
    assert (result.passed, result.severity) == (False, WARN)
    assert result.metadata["stale_accounts"].value == 4
    assert result.metadata["stale_accounts_examples"].value == (
        "2 2026-12-01T11:10Z, 3 never, 6 never, 8 2026-12-01T09:00Z")
    assert result.metadata["stale_after_minutes"].value == 45.0
    # the stocks endpoint: only account 8 succeeded on it, the others never did
    stocks = stale_accounts(warehouse, WB_STOCKS, now=NOW)
    assert stocks.metadata["stale_accounts"].value == 5  # 1, 2, 3, 6, 7 never; 4 young; 5 off
    # at 11:55 (cut-off 11:10) account 2's success at 11:10 is not yet too old
    earlier = stale_accounts(warehouse, WB_ORDERS, now=datetime(2026, 12, 1, 11, 55, tzinfo=UTC))
    assert earlier.metadata["stale_accounts_examples"].value == (
        "3 never, 6 never, 8 2026-12-01T09:00Z")
    execute(migrated_db_url, "UPDATE supplybrain.wb_integration_accounts SET is_active = false "
                             "WHERE id IN (2, 3, 6, 8)")
    assert stale_accounts(warehouse, WB_ORDERS, now=NOW).passed


MASTER = """
INSERT INTO supplybrain.article (id, code) VALUES (1, 'A1');
INSERT INTO supplybrain.color (id, inner_code) VALUES (1, 'C1');
INSERT INTO supplybrain.size (id, label, sort_order) VALUES (1, 'S', 1), (2, 'M', 2);
INSERT INTO supplybrain.sku_unit (id, article_id, color_id, size_id) VALUES (11, 1, 1, 1),
                                                                            (12, 1, 1, 2);
INSERT INTO supplybrain.article_wb_mapping (article_id, wb_sku, color_id, size_id)
VALUES (1, 'B1', 1, 1), (1, 'B2', 1, 2);
INSERT INTO supplybrain.wb_integration_accounts (id, name, api_token_encrypted)
VALUES (1, 'wb', 'gAAAAA-fake')"""


def wb_order(srid: str, barcode: str, at: str, cancelled: bool = False) -> str:
    return (f"INSERT INTO supplybrain.wb_orders (srid, account_id, ordered_at, last_change_at, "
            f"barcode, is_cancel) VALUES ('{srid}', 1, '{at}', '{at}', '{barcode}', "
            f"{cancelled})")


def unified(srid: str, sku: int | None, at: str, cancelled: bool = False,
            account: int = 1) -> str:
    article = "NULL" if sku is None else "1"
    return (f"INSERT INTO supplybrain.orders (channel, account_id, order_id, ordered_at, "
            f"item_key, article_id, color_id, size_id, sku_unit_id, quantity, is_cancelled, "
            f"last_change_at) VALUES ('wb', {account}, '{srid}', '{at}', 'B', {article}, "
            f"{article}, {sku or 'NULL'}, {sku or 'NULL'}, 1, {cancelled}, '{at}')")


def run_start(url) -> datetime:
    """A moment after everything written so far (a new transaction's start)."""
    return fetch_all(url, "SELECT now()")[0][0]


def test_orders_reconcile(migrated_db_url):
    url = migrated_db_url
    execute(url, MASTER)
    execute(url, wb_order("old", "B1", "2026-11-01T10:00Z"))  # before the run: not judged
    since = run_start(url)
    for statement in (
            wb_order("s1", "B1", "2026-11-20T10:00Z"), unified("s1", 11, "2026-11-20T10:00Z"),
            wb_order("s2", "B1", "2026-11-20T11:00Z"),  # no unified line: missing
            wb_order("s3", "B2", "2026-11-20T12:00Z"),  # cancelled in orders, not in raw
            unified("s3", 12, "2026-11-20T12:00Z", cancelled=True),
            wb_order("s4", "B9", "2026-11-20T13:00Z"),  # maps to nothing: no line needed
            wb_order("s5", "B2", "2026-11-25T10:00Z"), unified("s5", 11, "2026-11-25T10:00Z"),
            unified("ghost", 11, "2026-11-22T10:00Z"),  # no raw row, inside the window
            unified("late", 11, "2026-11-26T10:00Z"),  # no raw row, after the window
            unified("other", 11, "2026-11-22T10:00Z", account=9)):  # not an account of ours
        execute(url, statement)
    warehouse = PostgresWarehouse(database_url=url_text(url))
    result = reconcile_orders(warehouse, since)
    assert (result.passed, result.severity) == (False, ERROR)
    found = {name: result.metadata[name].value
             for name in ("missing", "differing", "without_raw_row")}
    assert found == {"missing": 1, "differing": 2, "without_raw_row": 1}
    assert result.metadata["missing_examples"].value == "wb 1 s2"
    assert result.metadata["differing_examples"].value == "wb 1 s3, wb 1 s5"
    assert result.metadata["without_raw_row_examples"].value == "wb 1 ghost"

    execute(url, unified("s2", 11, "2026-11-20T11:00Z"))
    execute(url, "UPDATE supplybrain.orders SET is_cancelled = false WHERE order_id = 's3';"
                 "UPDATE supplybrain.orders SET sku_unit_id = 12, size_id = 2 "
                 "WHERE order_id = 's5';"
                 "DELETE FROM supplybrain.orders WHERE order_id = 'ghost'")
    good = reconcile_orders(warehouse, since)
    assert good.passed
    assert good.metadata["problems"].value == "none"


def test_unmatched_barcodes_of_the_run(migrated_db_url):
    url = migrated_db_url
    execute(url, MASTER)
    execute(url, "INSERT INTO supplybrain.unmatched_items (source, account_id, item_key) "
                 "VALUES ('wb', 1, 'OLD')")  # seen before the run
    execute(url, wb_order("o0", "OLD", "2026-11-20T09:00Z"))
    since = run_start(url)
    execute(url, wb_order("o1", "B1", "2026-11-20T10:00Z"))
    execute(url, wb_order("o2", "X1", "2026-11-20T11:00Z"))
    execute(url, wb_order("o3", "X1", "2026-11-20T12:00Z"))
    execute(url, "INSERT INTO supplybrain.unmatched_items (source, account_id, item_key) "
                 "VALUES ('wb', 1, 'X1'), ('wb', 1, 'X2')")  # X2: a stocks barcode
    warehouse = PostgresWarehouse(database_url=url_text(url))
    result = unmatched_in_run(warehouse, WB_ORDERS, since)
    assert (result.passed, result.severity) == (False, WARN)
    assert result.metadata["unmatched_items"].value == 1
    assert result.metadata["unmatched_items_examples"].value == "1 X1"
    # a later run that sees only matched barcodes passes
    later = run_start(url)
    execute(url, wb_order("o4", "B2", "2026-11-21T10:00Z"))
    assert unmatched_in_run(warehouse, WB_ORDERS, later).passed
