"""``demand_is_plausible``: passes on right demand, fails on the rates the old code produced."""

from __future__ import annotations

from datetime import date

import dagster as dg
import pytest

from supplybrain_pipelines.assets.planning.demand import demand
from supplybrain_pipelines.checks import demand_is_plausible, plausibility
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
from supplybrain_pipelines_tests.fixtures_db import execute, url_text

AS_OF = date(2026, 11, 26)


@pytest.mark.parametrize(("rate", "units", "passed", "ratio"), [
    (20.0, 600.0, True, 1.0),      # 600 units / 30 days = 20 a day
    (60.0, 600.0, True, 3.0),      # stock-outs can explain 3×: the boundary passes
    (61.0, 600.0, False, 3.05),
    (600.0, 600.0, False, 30.0),   # "history starts today" read as "first in stock today"
    (5.0, 600.0, False, 0.25),
    (100.0, 20.0, True, 150.0),    # fewer than 30 units: not judged
])
def test_the_rule(rate, units, passed, ratio) -> None:
    result = plausibility(rate, units, 30)
    assert result["passed"] is passed
    assert result["ratio"] == pytest.approx(ratio)


def test_fails_on_the_old_codes_rates_and_passes_on_the_new(migrated_db_url,
                                                            dagster_instance) -> None:
    """10 SKU units selling 2 a day for 30 days (and before), stock recorded only today, as on
    a fresh install's second run: the old code divided 60 units by 1 day."""
    execute(migrated_db_url, """
        INSERT INTO supplybrain.article (id, code) VALUES (1, 'A1');
        INSERT INTO supplybrain.color (id, inner_code) VALUES (1, 'C1');
        INSERT INTO supplybrain.size (id, label, sort_order)
        SELECT g, 'S' || g, g FROM generate_series(1, 10) g;
        INSERT INTO supplybrain.sku_unit (id, article_id, color_id, size_id)
        SELECT g, 1, 1, g FROM generate_series(1, 10) g""")
    execute(migrated_db_url, """
        INSERT INTO supplybrain.orders_daily (day, channel, account_id, item_key, article_id,
            color_id, size_id, sku_unit_id, units_ordered, units_cancelled, units_net, revenue)
        SELECT CAST(:as_of AS date) - d, 'wb', 1, 'item-' || s, 1, 1, s, s, 2, 0, 2, 0
        FROM generate_series(0, 40) d, generate_series(1, 10) s""", as_of=AS_OF)
    execute(migrated_db_url, """
        INSERT INTO supplybrain.stock_history (day, sku_unit_id, available)
        SELECT CAST(:as_of AS date), s, 5 FROM generate_series(1, 10) s""", as_of=AS_OF)
    warehouse = PostgresWarehouse(database_url=url_text(migrated_db_url))
    assert dg.materialize([demand], instance=dagster_instance, resources={"warehouse": warehouse},
                          run_config={"ops": {"demand": {"config": {
                              "as_of": AS_OF.isoformat()}}}}).success
    good = demand_is_plausible(warehouse=warehouse)
    assert good.passed
    assert good.metadata["catalogue_rate"].value == pytest.approx(20.0)
    assert good.metadata["observed_units_per_day"].value == pytest.approx(20.0)

    # what the old code stored from the second run on: days_used = 1, rate = 60
    execute(migrated_db_url, "UPDATE supplybrain.demand SET days_used = 1, rate = units")
    bad = demand_is_plausible(warehouse=warehouse)
    assert not bad.passed
    assert bad.severity == dg.AssetCheckSeverity.ERROR
    assert bad.metadata["ratio"].value == pytest.approx(30.0)
    assert bad.metadata["catalogue_rate"].value == pytest.approx(600.0)
