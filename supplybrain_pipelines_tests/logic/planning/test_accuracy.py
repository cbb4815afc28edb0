"""Forecast accuracy against hand-worked values (WAPE = Σ|F − A| / ΣA, bias = (ΣF − ΣA) / ΣA,
both in %; the project's rate at an origin from the days before it only)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from supplybrain_pipelines.logic.planning.accuracy import (
    METHODS,
    bias,
    cumulative_days,
    forecasts_at_origins,
    grouped_scores,
    rates_at,
    wape,
    window_sums,
)
from supplybrain_pipelines.logic.planning.demand import demand_stats, in_stock_mask

PROJECT, MEAN_30, LAST_7 = (METHODS.index(m) for m in ("project", "mean_30", "last_7"))


def test_a_forecast_equal_to_the_actuals_scores_zero():
    actual = [3.0, 0.0, 7.0, 12.5]
    assert wape(actual, actual) == 0.0
    assert bias(actual, actual) == 0.0


def test_a_forecast_20_percent_high_has_bias_plus_20():
    actual = np.array([10.0, 5.0, 0.0, 35.0])
    assert bias(actual * 1.2, actual) == pytest.approx(20.0)
    assert wape(actual * 1.2, actual) == pytest.approx(20.0)


def test_errors_that_cancel_in_the_sum_still_count_in_wape():
    # |10 − 8| + |0 − 2| = 4 over 10 actual units: WAPE 40 %, and no bias
    assert wape([10.0, 0.0], [8.0, 2.0]) == pytest.approx(40.0)
    assert bias([10.0, 0.0], [8.0, 2.0]) == pytest.approx(0.0)


def test_no_actual_units_gives_no_score():
    assert math.isnan(wape([1.0], [0.0]))
    assert math.isnan(bias([1.0], [0.0]))


def test_window_sums_add_the_half_open_range():
    units = np.array([[1.0, 2.0, 3.0, 4.0], [10.0, 0.0, 0.0, 5.0]])
    cumulative = cumulative_days(units)
    assert window_sums(cumulative, np.array([1, 0]), np.array([3, 4])).tolist() == [5.0, 15.0]
    assert window_sums(cumulative, np.array([0, 3]), np.array([0, 4])).tolist() == [0.0, 5.0]


def one_origin(history: list[float], future: list[float], out: list[bool] | None = None,
               first_evidence: int = -1):
    units = np.array([history + future])
    recorded = np.zeros_like(units, dtype=bool)
    if out is not None:
        recorded[0, :len(out)] = out
    return forecasts_at_origins(units, recorded, np.array([first_evidence]),
                                np.array([[len(history)]]), np.array([len(future)]), 30)


def test_steady_seller_that_speeds_up():
    # 2 a day for 30 days, then 3 a day for 14: every method says 28, 42 were ordered
    f = one_origin([2.0] * 30, [3.0] * 14)
    assert f.actual[0, 0] == 42.0
    assert f.forecast[:, 0, 0].tolist() == pytest.approx([28.0, 28.0, 28.0])
    scores = grouped_scores(np.zeros((1, 1)), 1, f.actual, f.forecast, f.evaluated)
    assert scores.wape[PROJECT, 0] == pytest.approx(33.333333)
    assert scores.bias[PROJECT, 0] == pytest.approx(-33.333333)


def test_out_of_stock_days_do_not_count_for_the_project_rate_but_do_for_the_calendar_mean():
    # 20 days of 3 units, then 10 days recorded out of stock and no sale; then 3 a day again.
    # Project rate 60 / 20 = 3 → 42 over 14 days, exact; the calendar mean 60 / 30 = 2 → 28.
    f = one_origin([3.0] * 20 + [0.0] * 10, [3.0] * 14, out=[False] * 20 + [True] * 10)
    assert f.forecast[PROJECT, 0, 0] == pytest.approx(42.0)
    assert f.forecast[MEAN_30, 0, 0] == pytest.approx(28.0)
    assert f.forecast[LAST_7, 0, 0] == pytest.approx(0.0)
    scores = grouped_scores(np.zeros((1, 1)), 1, f.actual, f.forecast, f.evaluated)
    assert scores.wape[:, 0].tolist() == pytest.approx([0.0, 33.333333, 100.0])
    assert scores.bias[:, 0].tolist() == pytest.approx([0.0, -33.333333, -100.0])


def test_an_intermittent_seller_is_forecast_by_tsb():
    # 23 zero days, then 7 a day for 7 days: ADI 30 / 7 > 1.32, so TSB: p = 1 − 0.9⁷ =
    # 0.5217031, size 7 → 3.6519217 a day, 51.126904 over 14 days; 98 were ordered.
    f = one_origin([0.0] * 23 + [7.0] * 7, [7.0] * 14)
    assert f.forecast[PROJECT, 0, 0] == pytest.approx(51.126904, abs=1e-5)
    assert f.forecast[MEAN_30, 0, 0] == pytest.approx(22.866667, abs=1e-5)  # 49 / 30 × 14
    assert f.forecast[LAST_7, 0, 0] == pytest.approx(98.0)
    scores = grouped_scores(np.zeros((1, 1)), 1, f.actual, f.forecast, f.evaluated)
    # WAPE = 0.9⁷ = 47.82969 %; the calendar mean 1 − 49 / 210 = 76.666667 %
    assert scores.wape[:, 0].tolist() == pytest.approx([47.82969, 76.666667, 0.0], abs=1e-4)
    assert f.kind[0, 0] == 3  # "intermittent" in demand.KINDS


def test_a_sku_unit_not_yet_selling_at_the_origin_is_not_evaluated():
    # first evidence on day 32, after the origin (30): no counted day, no forecast to judge
    f = one_origin([0.0] * 30, [0.0, 0.0, 5.0] + [0.0] * 11, first_evidence=32)
    assert not f.evaluated[0, 0]
    # the same SKU unit with evidence before the origin is judged (forecast 0, actual 5)
    g = one_origin([0.0] * 30, [0.0, 0.0, 5.0] + [0.0] * 11, first_evidence=-1)
    assert g.evaluated[0, 0] and g.actual[0, 0] == 5.0 and g.forecast[PROJECT, 0, 0] == 0.0


def test_a_horizon_beyond_the_data_is_not_evaluated_and_each_row_has_its_own_horizon():
    units = np.array([[1.0] * 40, [1.0] * 40])
    f = forecasts_at_origins(units, np.zeros_like(units, dtype=bool), np.array([-1, -1]),
                             np.array([[30], [30]]), np.array([5, 14]), 30)
    assert f.evaluated[:, 0].tolist() == [True, False]  # 30 + 14 > 40 days of data
    assert f.actual[0, 0] == 5.0 and f.forecast[PROJECT, 0, 0] == pytest.approx(5.0)


def test_scores_of_a_group_weigh_every_unit_alike():
    # SKU A: forecast 10, 10 ordered; SKU B: forecast 0, 10 ordered → 10 / 20 = 50 %, bias −50 %
    actual = np.array([[10.0], [10.0]])
    forecast = np.array([[[10.0], [0.0]]] * 3)
    scores = grouped_scores(np.zeros((2, 1)), 1, actual, forecast, np.ones((2, 1), dtype=bool))
    assert scores.wape[0, 0] == pytest.approx(50.0)
    assert scores.bias[0, 0] == pytest.approx(-50.0)
    assert scores.pairs.tolist() == [2] and scores.actual.tolist() == [20.0]
    # per SKU unit: A perfect, B all missed
    per_sku = grouped_scores(np.array([[0], [1]]), 2, actual, forecast,
                             np.ones((2, 1), dtype=bool))
    assert per_sku.wape[0].tolist() == [0.0, 100.0]


def test_rows_without_a_unit_get_what_the_demand_method_gives_them():
    # rows 0 and 2 sell, rows 1 and 3 never do (3 is recorded out on two days)
    units = np.array([[0.0, 3.0, 0.0, 0.0, 2.0, 0.0], [0.0] * 6, [1.0] * 6, [0.0] * 6])
    out = np.zeros_like(units, dtype=bool)
    out[3, :2] = True
    stats = rates_at(units, out, np.array([0, 0, 0, 2]), np.array([6, 6, 6, 6]), 6)
    assert stats.days.tolist() == [6, 6, 6, 4]
    assert stats.rate.tolist()[1::2] == [0.0, 0.0]
    assert stats.rate[2] == 1.0 and stats.kind.tolist() == [3, 0, 1, 0]
    assert math.isnan(stats.adi[1]) and math.isnan(stats.cv2[3])
    # the same as the demand method on every row at once
    full = demand_stats(units, in_stock_mask(units, out, np.array([0, 0, 0, 2])))
    for name in ("units", "days", "velocity", "sigma", "kind", "tsb", "rate"):
        assert getattr(stats, name).tolist() == getattr(full, name).tolist(), name
