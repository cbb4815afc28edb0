"""The demand asset aggregates only the window of the stock history and looks up the first
in-stock day before it only for SKU units not in stock when the window starts (by either
lookup); the results are those of the whole-history definition. Units are summed exactly."""

from __future__ import annotations

import importlib
from datetime import date, timedelta
from types import SimpleNamespace

import dagster as dg
import pytest

from supplybrain_pipelines.assets.planning import demand
from supplybrain_pipelines.assets.planning.demand import (
    days_in_stock,
    first_in_stock_lookup,
    window_series,
)
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
from supplybrain_pipelines_tests.fixtures_db import execute, fetch_all, url_text

AS_OF = date(2026, 11, 26)
WINDOW = 30
START = AS_OF - timedelta(days=WINDOW - 1)

#: stock_history per SKU unit (size id): {days before as_of: available}.
HISTORY = {
    1: {100: 5.0, 90: 0.0},                                   # in stock long before the window
    2: {**{d: 0.0 for d in range(40, 10, -1)}, **{d: 3.0 for d in range(9, -1, -1)}},
    3: {d: 0.0 for d in range(60, -1, -1)},                   # never in stock
    4: {},                                                    # no history at all
    5: {45: 2.0, **{d: (0.0 if d % 3 else 4.0) for d in range(29, -1, -1)}},
    6: {29: 1.0, 10: 0.0, 3: 0.0},                            # in stock on the first day
}


def reference(size: int) -> tuple[int, str, bool]:
    """days_in_stock from the whole history, as the asset computed it before."""
    rows = {AS_OF - timedelta(days=ago): available for ago, available in HISTORY[size].items()}
    if not rows:
        return days_in_stock(WINDOW, START, AS_OF, None)
    window = [a for day, a in rows.items() if START <= day <= AS_OF]
    stocked = [day for day, a in rows.items() if a > 0]
    known = SimpleNamespace(known_days=len(window),
                            in_stock_days=sum(1 for a in window if a > 0),
                            out_days=sum(1 for a in window if a <= 0),
                            first_in_stock=min(stocked) if stocked else None)
    return days_in_stock(WINDOW, START, AS_OF, known)


@pytest.fixture
def catalogue(migrated_db_url):
    execute(migrated_db_url, """
        INSERT INTO supplybrain.article (id, code) VALUES (1, 'A1');
        INSERT INTO supplybrain.color (id, inner_code) VALUES (1, 'C1');
        INSERT INTO supplybrain.size (id, label, sort_order)
        SELECT g, 'S' || g, g FROM generate_series(1, 6) g;
        INSERT INTO supplybrain.sku_unit (id, article_id, color_id, size_id)
        SELECT g, 1, 1, g FROM generate_series(1, 6) g""")
    for size, days in HISTORY.items():
        for ago, available in days.items():
            execute(migrated_db_url, "INSERT INTO supplybrain.stock_history (day, sku_unit_id, "
                    "available) VALUES (:day, :sku, :available)",
                    day=AS_OF - timedelta(days=ago), sku=size, available=available)
    # Two channels on the same day: 0.1 + 0.2 units, exactly 0.3 (a float sum is not).
    for channel, units in (("wb", "0.1"), ("moysklad", "0.2")):
        execute(migrated_db_url, """
            INSERT INTO supplybrain.orders_daily (day, channel, account_id, item_key,
                article_id, color_id, size_id, sku_unit_id, units_ordered, units_cancelled,
                units_net, revenue)
            VALUES (:day, :channel, 1, 'item-2', 1, 1, 2, 2, :units, 0, :units, 0)""",
                day=AS_OF - timedelta(days=2), channel=channel, units=units)
    return migrated_db_url


@pytest.mark.parametrize("lookup", ["probe", "scan"])
def test_in_stock_days_match_the_whole_history_definition(catalogue, dagster_instance,
                                                          monkeypatch, lookup):
    module = importlib.import_module("supplybrain_pipelines.assets.planning.demand")
    monkeypatch.setattr(module, "first_in_stock_lookup", lambda version: lookup)
    result = dg.materialize([demand], instance=dagster_instance,
                            run_config={"ops": {"demand": {"config": {
                                "as_of": AS_OF.isoformat()}}}},
                            resources={"warehouse": PostgresWarehouse(
                                database_url=url_text(catalogue))})
    assert result.success
    rows = fetch_all(catalogue, "SELECT size_id, days_used, days_basis, history_complete, "
                     "units, units_single FROM supplybrain.demand ORDER BY size_id")
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (size, *reference(size)) for size in sorted(HISTORY)]
    bases = {r[0]: r[2] for r in rows}
    assert bases[1] == "in_stock" and bases[2] == "since_first_stock"
    assert bases[3] == bases[4] == "calendar"
    units = {r[0]: (r[4], r[5]) for r in rows}
    assert units[2] == (0.3, 0.3)


def test_window_series_adds_rows_of_a_day_exactly() -> None:
    assert window_series(3, [1, 1, 2], [100, 200, 1000]) == [0.0, 0.3, 1.0]
    assert window_series(2, None, None) == [0.0, 0.0]


def test_the_lookup_follows_the_server_version() -> None:
    assert first_in_stock_lookup((18, 6)) == "probe"
    assert first_in_stock_lookup((16, 4)) == first_in_stock_lookup((0,)) == "scan"
