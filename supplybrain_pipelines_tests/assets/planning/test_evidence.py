"""forecast_accuracy and policy_backtest on PostgreSQL, after the planning assets, with values
worked by hand from the documented rules (README "Forecast accuracy and policy backtest").

As of 2026-11-26; articles 1 and 2 (lead time 5, coverage 20, service level 90 %), colour 1:
- SKU unit 1 (article 1): 10 units every day; 100 in stock on the backtest's first day;
- SKU unit 2 (article 1): no order; 5 in stock on the backtest's first day;
- SKU unit 3 (article 1): 10 units every day; recorded 0 in stock on the backtest's first day;
- SKU unit 4 (article 2): 5 units a day, 10 a day over the last 14 days; no stock recorded.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import dagster as dg
import pytest
import sqlalchemy as sa

from supplybrain_pipelines.assets.planning import (
    PLANNING_ASSETS,
    forecast_accuracy,
    planning_proposals,
    policy_backtest,
)
from supplybrain_pipelines.resources.warehouse import PostgresWarehouse
from supplybrain_pipelines_tests.fixtures_db import execute, fetch_all, url_text

AS_OF = date(2026, 11, 26)
FIRST_DAY = AS_OF - timedelta(days=29)  # the backtest replays 30 days
HISTORY_DAYS = 70  # of orders before the as-of, more than either asset reads

CONFIG = {"forecast_accuracy": {"config": {"origins": 2}},
          "policy_backtest": {"config": {"days": 30}}}


def resources(url) -> dict:
    return {"warehouse": PostgresWarehouse(database_url=url_text(url))}


@pytest.fixture
def seeded(migrated_db_url):
    execute(migrated_db_url, """
        INSERT INTO supplybrain.article (id, code) VALUES (1, 'A1'), (2, 'A2');
        INSERT INTO supplybrain.color (id, inner_code) VALUES (1, 'C1');
        INSERT INTO supplybrain.size (id, label, sort_order)
        SELECT g, 'S' || g, g FROM generate_series(1, 4) g;
        INSERT INTO supplybrain.sku_unit (id, article_id, color_id, size_id)
        SELECT g, CASE WHEN g = 4 THEN 2 ELSE 1 END, 1, g FROM generate_series(1, 4) g;
        INSERT INTO supplybrain.article_planning_settings (article_id, lead_time_days,
            target_coverage_days, service_level_percent)
        VALUES (1, 5, 20, 90), (2, 5, 20, 90);""")
    for sku in (1, 3, 4):
        execute(migrated_db_url, """
            INSERT INTO supplybrain.orders_daily (day, channel, account_id, item_key,
                article_id, bundle_type_id, color_id, size_id, sku_unit_id, units_ordered,
                units_cancelled, units_net, revenue)
            SELECT d::date, 'wb', 1, 'item-' || :sku, CASE WHEN :sku = 4 THEN 2 ELSE 1 END,
                   NULL, 1, :sku, :sku, u, 0, u, 0
            FROM generate_series(CAST(:first AS date), CAST(:as_of AS date), interval '1 day') d,
                 LATERAL (SELECT CASE WHEN :sku = 4 AND d < CAST(:as_of AS date) - 13 THEN 5
                                      ELSE 10 END AS u) units""",
                sku=sku, first=AS_OF - timedelta(days=HISTORY_DAYS), as_of=AS_OF)
    execute(migrated_db_url, """
        INSERT INTO supplybrain.stock_history (day, sku_unit_id, available)
        VALUES (:first, 1, 100), (:first, 2, 5), (:first, 3, 0)""", first=FIRST_DAY)
    return migrated_db_url


def named_rows(url, query: str) -> list:
    """The rows of ``query`` with their columns as attributes."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        result = conn.execute(sa.text(query)).all()
    engine.dispose()
    return result


def plan(url, instance, assets=PLANNING_ASSETS):
    ops = {**CONFIG, "demand": {"config": {"as_of": AS_OF.isoformat()}},
           "supply": {"config": {"as_of": AS_OF.isoformat()}}}
    return dg.materialize(assets, instance=instance, resources=resources(url),
                          run_config={"ops": {k: v for k, v in ops.items()
                                              if any(a.key.path[-1] == k for a in assets)}})


def test_they_follow_the_proposals_on_the_planning_automation():
    for asset in (forecast_accuracy, policy_backtest):
        assert asset.group_names_by_key[asset.key] == "planning"
        assert asset.dependency_keys == {planning_proposals.key}
        assert repr(asset.automation_conditions_by_key[asset.key]) == repr(
            planning_proposals.automation_conditions_by_key[planning_proposals.key])


def test_an_empty_database_gives_empty_outputs(migrated_db_url, dagster_instance):
    result = plan(migrated_db_url, dagster_instance, [forecast_accuracy, policy_backtest])
    assert result.success
    for table in ("forecast_accuracy", "policy_backtest", "forecast_accuracy_latest",
                  "policy_backtest_latest"):
        assert fetch_all(migrated_db_url, f"SELECT count(*) FROM supplybrain.{table}") == [(0,)]
    meta = result.asset_materializations_for_node("policy_backtest")[0].metadata
    assert meta["dagster/row_count"].value == 0


def test_backtest_of_the_seeded_catalogue(seeded, dagster_instance):
    result = plan(seeded, dagster_instance)
    assert result.success
    rows = {(r.level, r.sku_unit_id): r for r in named_rows(seeded, """
        SELECT level, sku_unit_id, article_id, first_day, days, lead_time_days,
               target_service_level, start_stock, start_stock_day, units_demanded,
               units_served, fill_rate, stockout_days, sku_units_with_stockout,
               average_on_hand, orders, units_ordered, cycles, cycles_stocked_out,
               cycle_service_level
        FROM supplybrain.policy_backtest_latest
        WHERE level <> 'article' OR article_id = 1""")}
    # d 10, σ 0, L 5, T 20: ROP 50, target 250. From 100: 200 ordered at the end of day 4
    # and of day 24, never out of stock; end-of-day stock 90…10, 200, 190…10, 200 → 2750 / 30.
    one = rows[("sku_unit", 1)]
    assert (one.first_day, one.days, one.lead_time_days, one.start_stock,
            one.start_stock_day) == (FIRST_DAY, 30, 5, 100.0, FIRST_DAY)
    assert (one.units_demanded, one.units_served, one.fill_rate, one.stockout_days) == (
        300.0, 300.0, 1.0, 0)
    assert (one.orders, one.units_ordered, one.cycles, one.cycles_stocked_out,
            one.cycle_service_level) == (2, 400, 2, 0, 1.0)
    assert one.average_on_hand == pytest.approx(91.666667)
    # From 0: 250 ordered at once, arriving on day 5 (days 0–4 lose 10 each), then 200 at the
    # end of day 24; end-of-day stock 0 × 5, 240…10, 200 → 3200 / 30.
    three = rows[("sku_unit", 3)]
    assert (three.units_served, three.stockout_days, three.orders, three.units_ordered) == (
        250.0, 5, 2, 450)
    assert three.fill_rate == pytest.approx(0.833333)
    assert (three.cycles, three.cycles_stocked_out, three.cycle_service_level) == (2, 1, 0.5)
    assert three.average_on_hand == pytest.approx(106.666667)
    # no demand: nothing ordered, nothing to score, the stock stays
    two = rows[("sku_unit", 2)]
    assert (two.orders, two.fill_rate, two.cycle_service_level, two.average_on_hand) == (
        0, None, None, 5.0)
    # article 1 adds its SKU units up; the catalogue adds SKU unit 4 (article 2)
    article = rows[("article", None)]
    assert (article.start_stock, article.units_demanded, article.units_served,
            article.stockout_days, article.sku_units_with_stockout, article.orders,
            article.units_ordered, article.cycles, article.cycles_stocked_out) == (
        105.0, 600.0, 550.0, 5, 1, 4, 850, 4, 1)
    assert article.fill_rate == pytest.approx(0.916667)
    assert article.cycle_service_level == 0.75
    assert article.target_service_level == pytest.approx(0.9)
    assert article.average_on_hand == pytest.approx(203.333333)
    four = rows[("sku_unit", 4)]
    assert (four.start_stock, four.start_stock_day) == (0.0, None)
    catalogue = rows[("catalogue", None)]
    assert catalogue.units_demanded == 600.0 + four.units_demanded
    assert catalogue.orders == 4 + four.orders
    meta = result.asset_materializations_for_node("policy_backtest")[0].metadata
    assert meta["sku_units"].value == 4
    assert meta["units_demanded"].value == catalogue.units_demanded
    assert meta["fill_rate"].value == pytest.approx(catalogue.fill_rate)
    assert meta["cycle_service_level"].value == pytest.approx(catalogue.cycle_service_level)


def test_forecast_accuracy_of_the_seeded_catalogue(seeded, dagster_instance):
    result = plan(seeded, dagster_instance)
    assert result.success
    rows = {(r.level, r.horizon, r.sku_unit_id, r.article_id, r.demand_class): r
            for r in named_rows(seeded, """
        SELECT level, horizon, horizon_days, sku_unit_id, article_id, demand_class, origins,
               actual_units, forecast_units, wape, bias_pct, mean30_forecast_units,
               mean30_wape, last7_forecast_units, last7_wape, last7_bias_pct
        FROM supplybrain.forecast_accuracy_latest""")}
    # SKU unit 4, 14 days: origin 1 forecasts 5 × 14 = 70 for 140, origin 2 70 for
    # 7 × 5 + 7 × 10 = 105: |error| 105 over 245 → 42.857143 %, every method alike
    four = rows[("sku_unit", "fixed", 4, 2, "smooth")]
    assert (four.horizon_days, four.origins, four.actual_units, four.forecast_units) == (
        14, 2, 245.0, 140.0)
    assert four.wape == pytest.approx(42.857143)
    assert four.bias_pct == pytest.approx(-42.857143)
    assert four.last7_wape == pytest.approx(42.857143)
    # over its lead time (5 days), the newest origin sees 9 days of 10 in its 30: 6.5 a day →
    # 32.5 for 50; the one before 2 days: 160 / 30 a day → 26.666667 for 50 → 40.833333 %.
    # The last 7 days say 10 → 50, then 45 / 7 → 32.142857: 17.857143 %.
    lead = rows[("sku_unit", "lead_time", 4, 2, "smooth")]
    assert (lead.horizon_days, lead.actual_units) == (5, 100.0)
    assert lead.forecast_units == pytest.approx(59.166667)
    assert lead.wape == pytest.approx(40.833333)
    assert lead.mean30_forecast_units == pytest.approx(59.166667)
    assert lead.last7_forecast_units == pytest.approx(82.142857)
    assert lead.last7_wape == pytest.approx(17.857143)
    assert lead.last7_bias_pct == pytest.approx(-17.857143)
    # the steady sellers are forecast exactly
    for sku in (1, 3):
        steady = rows[("sku_unit", "fixed", sku, 1, "smooth")]
        assert (steady.actual_units, steady.wape, steady.bias_pct) == (280.0, 0.0, 0.0)
    # SKU unit 2 sold nothing: evaluated, but no score
    two = rows[("sku_unit", "fixed", 2, 1, "none")]
    assert (two.actual_units, two.wape, two.bias_pct) == (0.0, None, None)
    # the catalogue: |error| 105 over 2 × 280 + 245 = 805 → 13.043478 %, and per class
    for key in (("catalogue", "fixed", None, None, None),
                ("demand_class", "fixed", None, None, "smooth")):
        assert rows[key].wape == pytest.approx(13.043478)
        assert rows[key].bias_pct == pytest.approx(-13.043478)
    assert rows[("article", "fixed", None, 1, None)].wape == 0.0
    meta = result.asset_materializations_for_node("forecast_accuracy")[0].metadata
    assert meta["project_wape_fixed"].value == pytest.approx(13.043478)
    assert meta["project_bias_pct_fixed"].value == pytest.approx(-13.043478)
    assert meta["pairs_fixed"].value == 8

    # a second evaluation of the same as-of replaces the first; the view shows the newest
    again = plan(seeded, dagster_instance, [forecast_accuracy])
    assert again.success
    assert fetch_all(seeded, "SELECT DISTINCT run_id FROM supplybrain.forecast_accuracy") == [
        (again.run_id,)]


#: The README's example queries ("Forecast accuracy and policy backtest"), word for word.
README_QUERIES = ("""
SELECT a.code, f.origins, round(f.wape::numeric, 1) AS wape,
       round(f.bias_pct::numeric, 1) AS bias_pct, round(f.mean30_wape::numeric, 1) AS mean30,
       round(f.last7_wape::numeric, 1) AS last7
FROM supplybrain.forecast_accuracy_latest f
JOIN supplybrain.article a ON a.id = f.article_id
WHERE f.level = 'article' AND f.horizon = 'fixed' AND f.actual_units >= 50
ORDER BY f.wape DESC LIMIT 20""", """
SELECT a.code, round(b.fill_rate::numeric, 3) AS fill_rate,
       round(b.cycle_service_level::numeric, 3) AS csl, b.target_service_level,
       b.stockout_days, b.orders, b.units_ordered
FROM supplybrain.policy_backtest_latest b
JOIN supplybrain.article a ON a.id = b.article_id
WHERE b.level = 'article' AND b.cycle_service_level < b.target_service_level - 0.05
ORDER BY b.cycle_service_level""")


def test_the_readme_queries_work_for_the_reader_role(seeded, dagster_instance):
    assert plan(seeded, dagster_instance).success
    execute(seeded, "GRANT SELECT ON supplybrain.article TO supplybrain_reader")
    engine = sa.create_engine(seeded)
    with engine.connect() as conn:
        conn.execute(sa.text("SET ROLE supplybrain_reader"))
        accuracy, backtest = (conn.execute(sa.text(q)).all() for q in README_QUERIES)
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.execute(sa.text("SELECT * FROM supplybrain.policy_backtest"))
    engine.dispose()
    # article 1: SKU units 1 and 3 exact, 2 sold nothing → WAPE 0; article 2: SKU unit 4
    d = Decimal
    assert [tuple(r) for r in accuracy] == [("A2", 2, d("42.9"), d("-42.9"), d("42.9"),
                                             d("42.9")),
                                            ("A1", 6, d("0.0"), d("0.0"), d("0.0"), d("0.0"))]
    # article 1 achieved 0.75 of cycles against 0.9
    assert ("A1", d("0.917"), d("0.750"), 0.9, 5, 4, 850) in [tuple(r) for r in backtest]


def test_a_bad_setting_is_refused_and_loses_nothing(seeded, dagster_instance):
    first = plan(seeded, dagster_instance)
    assert first.success
    before = fetch_all(seeded, "SELECT count(*), min(run_id), max(run_id) "
                       "FROM supplybrain.forecast_accuracy")
    bad = dg.materialize([forecast_accuracy], instance=dagster_instance,
                         resources=resources(seeded), raise_on_error=False,
                         run_config={"ops": {"forecast_accuracy": {"config": {"origins": 0}}}})
    assert not bad.success
    failure = next(e for e in bad.all_events if e.is_step_failure)
    assert "origins must be ≥ 1, got 0" in str(failure.step_failure_data.error.cause.message)
    assert fetch_all(seeded, "SELECT count(*), min(run_id), max(run_id) "
                     "FROM supplybrain.forecast_accuracy") == before
    assert before[0][1] == before[0][2] == first.run_id


def test_rows_of_other_days_are_kept_for_keep_days(seeded, dagster_instance):
    assert plan(seeded, dagster_instance).success
    execute(seeded, """
        UPDATE supplybrain.policy_backtest SET as_of = as_of - 91 WHERE level = 'sku_unit';
        UPDATE supplybrain.policy_backtest SET as_of = as_of - 90 WHERE level = 'article'""")
    again = plan(seeded, dagster_instance, [policy_backtest])
    assert again.success
    # 91 days old: gone; 90 days old: kept; the as-of itself: only the new run's rows
    assert fetch_all(seeded, """
        SELECT as_of, level, run_id = :run, count(*) FROM supplybrain.policy_backtest
        GROUP BY 1, 2, 3 ORDER BY 1, 2""", run=again.run_id) == [
        (AS_OF - timedelta(days=90), "article", False, 2),
        (AS_OF, "article", True, 2), (AS_OF, "catalogue", True, 1),
        (AS_OF, "sku_unit", True, 4)]


def test_bundle_orders_count_for_each_recipe_colour(seeded, dagster_instance):
    # a 2-pack of article 2 (colours 1 and 2) in size 3, 4 ordered every day: 4 units a day of
    # SKU units 5 (colour 1) and 6 (colour 2), and nothing of either on its own
    execute(seeded, """
        INSERT INTO supplybrain.color (id, inner_code) VALUES (2, 'C2');
        INSERT INTO supplybrain.sku_unit (id, article_id, color_id, size_id)
        VALUES (5, 2, 1, 3), (6, 2, 2, 3);
        INSERT INTO supplybrain.bundle_type (id, code, name) VALUES (1, 'P2', '2-pack');
        INSERT INTO supplybrain.bundle_recipe (article_id, bundle_type_id, color_id, position)
        VALUES (2, 1, 1, 1), (2, 1, 2, 2);""")
    execute(seeded, """
        INSERT INTO supplybrain.orders_daily (day, channel, account_id, item_key, article_id,
            bundle_type_id, color_id, size_id, sku_unit_id, units_ordered, units_cancelled,
            units_net, revenue)
        SELECT d::date, 'wb', 1, 'bundle-2-3', 2, 1, NULL, 3, NULL, 4, 0, 4, 0
        FROM generate_series(CAST(:first AS date), CAST(:as_of AS date), interval '1 day') d
        """, first=AS_OF - timedelta(days=HISTORY_DAYS), as_of=AS_OF)
    assert plan(seeded, dagster_instance).success
    accuracy = fetch_all(seeded, """
        SELECT sku_unit_id, origins, actual_units, forecast_units, wape
        FROM supplybrain.forecast_accuracy_latest
        WHERE level = 'sku_unit' AND horizon = 'fixed' AND sku_unit_id IN (5, 6)
        ORDER BY 1""")
    assert accuracy == [(5, 2, 112.0, 112.0, 0.0), (6, 2, 112.0, 112.0, 0.0)]
    assert fetch_all(seeded, """
        SELECT sku_unit_id, units_demanded FROM supplybrain.policy_backtest_latest
        WHERE sku_unit_id IN (5, 6) ORDER BY 1""") == [(5, 120.0), (6, 120.0)]
