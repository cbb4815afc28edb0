"""The demand asset on PostgreSQL: which days count for each kind of history, worked by hand.

Window: 30 days ending 2026-11-26 (start 2026-10-28). One article, one colour, a size per case.
Expected days, bases and rates follow the rule in README "Planning" / ``logic/planning/demand``:
a day counts from the first evidence on (an order, direct or through a bundle, or a recorded
availability > 0, anywhere in the history), unless it is recorded out of stock without a sale;
unrecorded days count as in stock.
"""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg
import pytest

from supplybrain_pipelines.assets.planning.demand import demand
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
from supplybrain_pipelines_tests.fixtures_db import execute, fetch_all, url_text

AS_OF = date(2026, 11, 26)
START = AS_OF - timedelta(days=29)


def day(offset: int) -> date:
    """The window's day at ``offset`` (0 = its first day; negative = before the window)."""
    return START + timedelta(days=offset)


#: size id → (orders {offset: units}, stock history {offset: available}), and the expected
#: (days_used, days_basis, counted_from offset or None, units, velocity, rate).
CASES = {
    # fresh install: orders all window long (and before it), history only today
    1: ({**{d: 2 for d in range(30)}, -40: 1}, {29: 10.0},
        (30, "in_stock", 0, 60.0, 2.0, 2.0)),
    # import of history: first order ever on day 5, no stock history at all
    2: ({d: 1 for d in range(5, 30)}, {},
        (25, "since_first_activity", 5, 25.0, 1.0, 1.0)),
    # new SKU: 20 recorded zero days, then in stock selling 5 a day
    3: ({d: 5 for d in range(20, 30)}, {**{d: 0.0 for d in range(20)},
                                        **{d: 3.0 for d in range(20, 30)}},
        (10, "since_first_activity", 20, 50.0, 5.0, 5.0)),
    # partial stock-out: recorded out (no sales) on the odd days, 4 a day otherwise
    4: ({d: 4 for d in range(0, 30, 2)}, {d: (0.0 if d % 2 else 9.0) for d in range(30)},
        (15, "in_stock", 0, 60.0, 4.0, 4.0)),
    # no orders, no history: nothing is known
    5: ({}, {}, (0, "no_activity", None, 0.0, 0.0, 0.0)),
    # in stock long before the window, no orders since, history recorded today only
    6: ({}, {-100: 5.0, 29: 5.0}, (30, "in_stock", 0, 0.0, 0.0, 0.0)),
    # a sale on a day recorded out of stock counts (day 0); days 1 and 3 recorded out without
    # a sale do not: 28 days. Observed series [2, 3, 0 × 22, 1, 0 × 3]: ADI 25/3 → TSB:
    # p = (0.1 + 0.9^23)·0.9^3, z = 0.1·1 + 0.9·(0.1·3 + 0.9·2) = 1.99 → 0.27364653
    7: ({0: 2, 2: 3, 26: 1}, {0: 0.0, 1: 0.0, 2: 4.0, 3: 0.0},
        (28, "in_stock", 0, 6.0, 6 / 28, 0.27364653)),
}


@pytest.fixture
def catalogue(migrated_db_url):
    execute(migrated_db_url, """
        INSERT INTO supplybrain.article (id, code) VALUES (1, 'A1');
        INSERT INTO supplybrain.color (id, inner_code) VALUES (1, 'C1'), (2, 'C2');
        INSERT INTO supplybrain.size (id, label, sort_order)
        SELECT g, 'S' || g, g FROM generate_series(1, 9) g;
        INSERT INTO supplybrain.sku_unit (id, article_id, color_id, size_id)
        SELECT g, 1, 1, g FROM generate_series(1, 9) g;
        INSERT INTO supplybrain.sku_unit (id, article_id, color_id, size_id)
        VALUES (100, 1, 2, 8);
        INSERT INTO supplybrain.bundle_type (id, code, name) VALUES (1, 'P2', '2-pack');
        INSERT INTO supplybrain.bundle_recipe (article_id, bundle_type_id, color_id, position)
        VALUES (1, 1, 1, 1), (1, 1, 2, 2);""")
    for size, (orders, history, _expected) in CASES.items():
        for offset, units in orders.items():
            order(migrated_db_url, offset, f"single-{size}", units, sku=size, size=size)
        for offset, available in history.items():
            execute(migrated_db_url, "INSERT INTO supplybrain.stock_history (day, sku_unit_id, "
                    "available) VALUES (:day, :sku, :available)",
                    day=day(offset), sku=size, available=available)
    # size 8: its only evidence before the window is a 2-pack order (colours 1 and 2), then a
    # fully cancelled 2-pack order on day 3; history today only. Size 9: a 2-pack of a bundle
    # type without SKU units of colour 2 in size 9 → units not exploded for colour 2.
    order(migrated_db_url, -50, "bundle-8", 1, size=8, bundle=1)
    order(migrated_db_url, 3, "bundle-8", 0, size=8, bundle=1, cancelled=2)
    execute(migrated_db_url, "INSERT INTO supplybrain.stock_history (day, sku_unit_id, "
            "available) VALUES (:d, 8, 3), (:d, 100, 3)", d=day(29))
    order(migrated_db_url, 10, "bundle-9", 3, size=9, bundle=1)
    return migrated_db_url


def order(url, offset, item, units, *, sku=None, size, bundle=None, cancelled=0):
    execute(url, """
        INSERT INTO supplybrain.orders_daily (day, channel, account_id, item_key, article_id,
            bundle_type_id, color_id, size_id, sku_unit_id, units_ordered, units_cancelled,
            units_net, revenue)
        VALUES (:day, 'wb', 1, :item, 1, :bundle, :color, :size, :sku, :ordered, :cancelled,
                :units, 0)""", day=day(offset), item=item, bundle=bundle,
            color=None if bundle else 1, size=size, sku=sku, ordered=units + cancelled,
            cancelled=cancelled, units=units)


def run_demand(url, dagster_instance):
    result = dg.materialize([demand], instance=dagster_instance,
                            run_config={"ops": {"demand": {"config": {
                                "as_of": AS_OF.isoformat()}}}},
                            resources={"warehouse": PostgresWarehouse(database_url=url_text(url))})
    assert result.success
    return result


def test_days_that_count_for_each_kind_of_history(catalogue, dagster_instance):
    run_demand(catalogue, dagster_instance)
    rows = {r[0]: r[1:] for r in fetch_all(catalogue, """
        SELECT sku_unit_id, days_used, days_basis, counted_from, units, rate, sigma_daily,
               velocity FROM supplybrain.demand""")}
    for size, (_orders, _history, expected) in CASES.items():
        days, basis, counted_from, units, velocity, rate = expected
        got = rows[size]
        assert got[:3] == (days, basis, None if counted_from is None else day(counted_from)), size
        assert got[3] == units, size
        assert got[6] == pytest.approx(velocity, abs=1e-8), size
        assert got[4] == pytest.approx(rate, abs=1e-8), size
    # steady sellers: no spread once the out-of-stock days are left out
    assert [rows[size][5] for size in (1, 2, 3, 4)] == [0.0, 0.0, 0.0, 0.0]
    # sizes 8 and the colour-2 SKU unit: the bundle order before the window is evidence, the
    # cancelled one inside it sells nothing
    assert rows[8][:4] == (30, "in_stock", day(0), 0.0)
    assert rows[100][:4] == (30, "in_stock", day(0), 0.0)


def test_bundle_units_without_a_sku_unit_are_counted(catalogue, dagster_instance):
    result = run_demand(catalogue, dagster_instance)
    assert fetch_all(catalogue, "SELECT article_id, bundle_type_id, size_id, color_id, reason, "
                     "units FROM supplybrain.demand_unexploded") == [
        (1, 1, 9, 2, "no_sku_unit", 3.0)]
    # the colour-1 half of the same 2-packs is demand of SKU unit 9: 3 units on day 10, the
    # first evidence, so 20 days count
    assert fetch_all(catalogue, "SELECT units, days_used FROM supplybrain.demand "
                     "WHERE sku_unit_id = 9") == [(3.0, 20)]
    meta = result.asset_materializations_for_node("demand")[0].metadata
    assert meta["bundle_units_not_exploded"].value == 3.0
