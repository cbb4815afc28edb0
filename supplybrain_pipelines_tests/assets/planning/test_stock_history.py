"""``supply`` records availability only for the current business day, and keeps the day's
largest; a run for a past as-of reads history and writes none."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import dagster as dg

from supplybrain_pipelines.assets.planning.supply import supply
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
from supplybrain_pipelines_tests.fixtures_db import execute, fetch_all, url_text

PAST = date(2026, 11, 1)


def run_supply(url, instance, as_of: date | None) -> dg.ExecuteInProcessResult:
    config = {"as_of": as_of.isoformat()} if as_of else {}
    result = dg.materialize([supply], instance=instance,
                            resources={"warehouse": PostgresWarehouse(database_url=url_text(url))},
                            run_config={"ops": {"supply": {"config": config}}})
    assert result.success
    return result


def set_stock(url, quantity: int) -> None:
    execute(url, "DELETE FROM supplybrain.stock")
    execute(url, """
        INSERT INTO supplybrain.stock (channel, account_id, location, item_key, article_id,
            color_id, size_id, sku_unit_id, quantity, as_of)
        VALUES ('own', 1, 'main', 'item-1', 1, 1, 1, 1, :q, now())""", q=quantity)


def test_only_today_is_recorded(migrated_db_url, dagster_instance) -> None:
    execute(migrated_db_url, """
        INSERT INTO supplybrain.article (id, code) VALUES (1, 'A1');
        INSERT INTO supplybrain.color (id, inner_code) VALUES (1, 'C1');
        INSERT INTO supplybrain.size (id, label, sort_order) VALUES (1, 'M', 1);
        INSERT INTO supplybrain.sku_unit (id, article_id, color_id, size_id) VALUES (1, 1, 1, 1)""")
    execute(migrated_db_url, "INSERT INTO supplybrain.stock_history (day, sku_unit_id, "
            "available) VALUES (:day, 1, 0)", day=PAST)
    set_stock(migrated_db_url, 7)

    run_supply(migrated_db_url, dagster_instance, PAST)
    # the past day keeps what was recorded then, and nothing else is written
    assert fetch_all(migrated_db_url, "SELECT day, available FROM supplybrain.stock_history") == [
        (PAST, 0.0)]

    run_supply(migrated_db_url, dagster_instance, None)  # today
    set_stock(migrated_db_url, 0)                         # sold out later the same day
    run_supply(migrated_db_url, dagster_instance, None)
    moscow_today = datetime.now(ZoneInfo("Europe/Moscow")).date()  # the default business day
    assert fetch_all(migrated_db_url, "SELECT day, available FROM supplybrain.stock_history "
                     "ORDER BY day") == [(PAST, 0.0), (moscow_today, 7.0)]


def test_wb_bundle_stock_that_cannot_become_singles_is_counted(migrated_db_url,
                                                               dagster_instance) -> None:
    """A 2-pack {C1, C2} in M: 4 on WB, but C2 has no SKU unit in M; a 3-pack without a
    recipe: 5 on WB. C1-M gets the 4 pieces; 9 bundle units are reported, not dropped."""
    execute(migrated_db_url, """
        INSERT INTO supplybrain.article (id, code) VALUES (1, 'A1');
        INSERT INTO supplybrain.color (id, inner_code) VALUES (1, 'C1'), (2, 'C2');
        INSERT INTO supplybrain.size (id, label, sort_order) VALUES (1, 'M', 1);
        INSERT INTO supplybrain.sku_unit (id, article_id, color_id, size_id) VALUES (1, 1, 1, 1);
        INSERT INTO supplybrain.bundle_type (id, code, name) VALUES (1, 'P2', '2-pack'),
                                                                     (2, 'P3', '3-pack');
        INSERT INTO supplybrain.bundle_recipe (article_id, bundle_type_id, color_id, position)
        VALUES (1, 1, 1, 1), (1, 1, 2, 2)""")
    execute(migrated_db_url, """
        INSERT INTO supplybrain.stock (channel, account_id, location, item_key, article_id,
            bundle_type_id, size_id, quantity, as_of)
        VALUES ('wb', 1, 'Коледино', 'p2-m', 1, 1, 1, 4, now()),
               ('wb', 1, 'Коледино', 'p3-m', 1, 2, 1, 5, now())""")
    result = run_supply(migrated_db_url, dagster_instance, PAST)
    meta = result.asset_materializations_for_node("supply")[0].metadata
    assert meta["wb_bundle_units_not_exploded"].value == 9.0
    assert meta["wb_bundle_lines_not_exploded"].value == 2
    assert fetch_all(migrated_db_url, "SELECT sku_unit_id, wb_bundle_stock FROM "
                     "supplybrain.supply") == [(1, 4.0)]
