"""An orders chunk whose lines are all new goes in by plain insert; one with a key already in
``orders`` is upserted (importer/orders.py). Whatever the mix of new and known lines, and in
whichever order they come, the counts, the rows and ``orders_daily`` are those of the
documented rule, and a repeated key is still named by its line and its first line."""

from __future__ import annotations

from decimal import Decimal

import pytest

from supplybrain_pipelines.importer import import_directory
from supplybrain_pipelines.importer.report import FAILED, LOADED
from supplybrain_pipelines_tests.fixtures_db import fetch_all
from supplybrain_pipelines_tests.importer import test_streaming
from supplybrain_pipelines_tests.importer.test_streaming import (
    CHUNK,
    HEADER,
    daily,
    order_line,
    write_orders,
)

master = test_streaming.master  # the fixture: scenario_small's files but its orders

EVEN_DAYS = [  # 150 lines a day, one unit at 100.00 each (order_line: day 1 + i mod 3)
    ("2026-09-01", Decimal("150.000"), Decimal("150.000"), Decimal("15000.00")),
    ("2026-09-02", Decimal("150.000"), Decimal("150.000"), Decimal("15000.00")),
    ("2026-09-03", Decimal("150.000"), Decimal("150.000"), Decimal("15000.00"))]


def counts(result) -> tuple:
    return (result.status, result.counts.inserted, result.counts.updated,
            result.counts.unchanged, result.days_rebuilt)


def test_known_lines_first_then_new_ones(migrated_db_url, master):
    """srid-0…199 are imported first; then 450 lines with srid-0 moved from 1 to 2 September:
    chunks of known lines (upserted), then of new lines (inserted again)."""
    assert import_directory(migrated_db_url, master).ok
    orders = master.parent / "orders"
    write_orders(orders, n=200)
    assert counts(import_directory(migrated_db_url, orders, chunk_size=CHUNK).result(
        "orders.csv")) == (LOADED, 200, 0, 0, 3)
    write_orders(orders, {2: order_line(0, day=2)})
    result = import_directory(migrated_db_url, orders, chunk_size=CHUNK).result("orders.csv")
    assert counts(result) == (LOADED, 250, 1, 199, 3)
    assert fetch_all(migrated_db_url, "SELECT count(*), count(DISTINCT order_id) FROM "
                     "supplybrain.orders") == [(450, 450)]
    assert fetch_all(migrated_db_url, "SELECT ordered_at::text FROM supplybrain.orders "
                     "WHERE order_id = 'srid-0'") == [("2026-09-02 09:00:00+00",)]
    assert daily(migrated_db_url) == [
        ("2026-09-01", Decimal("149.000"), Decimal("149.000"), Decimal("14900.00")),
        ("2026-09-02", Decimal("151.000"), Decimal("151.000"), Decimal("15100.00")),
        ("2026-09-03", Decimal("150.000"), Decimal("150.000"), Decimal("15000.00"))]


def test_new_lines_first_then_known_ones(migrated_db_url, master):
    """srid-300…449 are imported first; then all 450: three chunks of new lines (inserted),
    then the known ones (upserted, unchanged)."""
    assert import_directory(migrated_db_url, master).ok
    orders = master.parent / "orders"
    (orders / "orders.csv").write_text(
        HEADER + "".join(order_line(i) for i in range(300, 450)), encoding="utf-8")
    assert counts(import_directory(migrated_db_url, orders, chunk_size=CHUNK).result(
        "orders.csv")) == (LOADED, 150, 0, 0, 3)
    write_orders(orders)
    result = import_directory(migrated_db_url, orders, chunk_size=CHUNK).result("orders.csv")
    assert counts(result) == (LOADED, 300, 0, 150, 3)
    assert fetch_all(migrated_db_url, "SELECT count(*), count(DISTINCT order_id) FROM "
                     "supplybrain.orders") == [(450, 450)]
    assert daily(migrated_db_url) == EVEN_DAYS


@pytest.mark.parametrize(("lines", "expected"), [
    ({420: order_line(3)},
     "orders.csv line 420: duplicate of line 5: the same channel 'wb', account_id '1', "
     "order_id 'srid-3'."),
    ({10: order_line(3)},
     "orders.csv line 10: duplicate of line 5: the same channel 'wb', account_id '1', "
     "order_id 'srid-3'."),
], ids=["in-a-later-chunk", "in-the-same-chunk"])
def test_a_repeated_key_alone_is_named_and_nothing_is_written(migrated_db_url, master,
                                                              lines, expected):
    """The file's only error is a repeated order id, in a new file: its plain insert fails on
    the primary key, and the duplicate check names the line."""
    assert import_directory(migrated_db_url, master).ok
    write_orders(master.parent / "orders", lines)
    result = import_directory(migrated_db_url, master.parent / "orders",
                              chunk_size=CHUNK).result("orders.csv")
    assert result.status == FAILED
    assert [str(e) for e in result.errors] == [expected]
    assert fetch_all(migrated_db_url, "SELECT count(*) FROM supplybrain.orders") == [(0,)]
    assert daily(migrated_db_url) == []


def test_a_repeated_key_on_a_reimport_is_named_and_nothing_changes(migrated_db_url,
                                                                  master):
    """The same file again with line 300 repeating line 5 (srid-3): every chunk is upserted,
    and the duplicate is still named; the rows stay as the first import wrote them."""
    assert import_directory(migrated_db_url, master).ok
    orders = master.parent / "orders"
    write_orders(orders)
    assert import_directory(migrated_db_url, orders, chunk_size=CHUNK).ok
    write_orders(orders, {300: order_line(3)})
    result = import_directory(migrated_db_url, orders, chunk_size=CHUNK).result("orders.csv")
    assert result.status == FAILED
    assert [str(e) for e in result.errors] == [
        "orders.csv line 300: duplicate of line 5: the same channel 'wb', account_id '1', "
        "order_id 'srid-3'."]
    assert fetch_all(migrated_db_url, "SELECT count(*) FROM supplybrain.orders "
                     "WHERE order_id = 'srid-298'") == [(1,)]
    assert daily(migrated_db_url) == EVEN_DAYS


def test_days_rolled_up_early_and_touched_again_are_right_at_the_end(migrated_db_url,
                                                                      master):
    """A file in blocks of days (chunks of 100): srid-0…99 on 1 September, 100…199 on the 2nd,
    200…299 on the 3rd, 300…399 on the 1st again, 400…449 on the 2nd again. The 1st and the
    2nd are rolled up while the file is read, then touched again: the end rebuilds them."""
    assert import_directory(migrated_db_url, master).ok
    days = [1] * 100 + [2] * 100 + [3] * 100 + [1] * 100 + [2] * 50
    orders = master.parent / "orders"
    (orders / "orders.csv").write_text(
        HEADER + "".join(order_line(i, day=d) for i, d in enumerate(days)), encoding="utf-8")
    result = import_directory(migrated_db_url, orders, chunk_size=CHUNK).result("orders.csv")
    assert counts(result) == (LOADED, 450, 0, 0, 3)
    assert daily(migrated_db_url) == [
        ("2026-09-01", Decimal("200.000"), Decimal("200.000"), Decimal("20000.00")),
        ("2026-09-02", Decimal("150.000"), Decimal("150.000"), Decimal("15000.00")),
        ("2026-09-03", Decimal("100.000"), Decimal("100.000"), Decimal("10000.00"))]
