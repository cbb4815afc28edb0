"""Demand estimation: Croston reference values, demand classes, velocity, σ (§4.1–4.2)."""

from __future__ import annotations

import math
import random
import statistics
from decimal import Decimal

import pytest

from supplybrain_pipelines.logic.planning.demand import (
    DemandClass,
    RateChoice,
    Velocity,
    choose_method,
    classify_demand,
    croston,
    decompose,
    observed_days,
    ses,
    sigma_daily,
    velocity,
)

R_FORECAST_26 = [1, 0, 0, 0, 2, 0, 0]
WORKED = [0, 0, 3, 0, 0, 0, 2, 0, 4, 0]


def test_croston_r_forecast_reference() -> None:
    """R forecast::croston(c(1,0,0,0,2,0,0), alpha=0.1) = 0.8461538 (robjhyndman/forecast#26)."""
    assert decompose(R_FORECAST_26) == ([1.0, 2.0], [1, 4])
    assert round(croston(R_FORECAST_26, alpha=0.1), 7) == 0.8461538
    assert croston(R_FORECAST_26) == pytest.approx(1.1 / 1.3, abs=1e-15)
    assert round(croston(R_FORECAST_26, alpha=0.1, variant="sba"), 7) == 0.8038462
    assert croston(R_FORECAST_26, variant="sba") == pytest.approx(1.1 / 1.3 * 0.95)


def test_croston_worked_example_of_the_reference() -> None:
    """§4.1: sizes [3,2,4] → 3.01, intervals [3,4,2] → 2.99; classic 1.0066890, SBA 0.9563545,
    TSB 0.63429637."""
    sizes, intervals = decompose(WORKED)
    assert (sizes, intervals) == ([3.0, 2.0, 4.0], [3, 4, 2])
    assert ses(sizes, 0.1) == pytest.approx(3.01)
    assert ses(intervals, 0.1) == pytest.approx(2.99)
    assert round(croston(WORKED), 7) == 1.0066890
    assert round(croston(WORKED, variant="sba"), 7) == 0.9563545
    assert round(croston(WORKED, variant="tsb"), 8) == 0.63429637


def test_initialisation_convention_is_first_observation() -> None:
    """Only first-value SES with intervals from the series start gives 0.8461538."""
    assert ses([1, 2], 0.1) == pytest.approx(1.1)
    assert ses([1, 4], 0.1) == pytest.approx(1.3)
    assert ses([5.0], 0.1) == 5.0
    with pytest.raises(ValueError, match="at least one"):
        ses([], 0.1)


@pytest.mark.parametrize("alpha", [0.1, 0.2, 0.3])
def test_sba_is_classic_times_one_minus_half_alpha(alpha: float) -> None:
    series = [0, 2, 0, 0, 5, 0, 1, 0, 0, 0, 3]
    assert croston(series, alpha, "sba") == pytest.approx(croston(series, alpha) * (1 - alpha / 2))


def test_croston_edge_cases() -> None:
    assert croston([0, 0, 0]) == 0.0
    assert croston([]) == 0.0
    assert croston([0, 0, 4]) == pytest.approx(4 / 3)  # one demand: size / first interval
    with pytest.raises(ValueError, match="variant"):
        croston([1, 0, 1], variant="holt")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="variant"):
        croston([0, 0], variant="holt")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="day 2"):
        croston([1, 0, math.inf])
    with pytest.raises(ValueError, match="day 0"):
        croston(["1"])  # type: ignore[list-item]
    assert croston([Decimal("1"), 0, 0, 0, Decimal("2"), 0, 0]) == croston(R_FORECAST_26)
    with pytest.raises(ValueError, match="alpha"):
        croston([1, 0, 1], alpha=0)
    with pytest.raises(ValueError, match="day 1"):
        croston([1, -1, 1])
    with pytest.raises(ValueError, match="day 0"):
        croston([math.nan])


def test_demand_classes() -> None:
    assert classify_demand(R_FORECAST_26) == DemandClass(2.5, pytest.approx(2 / 9), "intermittent")
    assert classify_demand([5] * 10) == DemandClass(1.0, 0.0, "smooth")
    assert classify_demand([1, 10] * 5).kind == "erratic"
    assert classify_demand([0, 0, 1, 0, 0, 20, 0, 0, 1, 0, 0, 30]).kind == "lumpy"
    assert classify_demand([0] * 30) == DemandClass(None, None, "none")
    assert classify_demand([3]).cv2 == 0.0  # one size: CV² 0, not undefined


def test_cutoffs_are_strict() -> None:
    """ADI exactly 1.32 (33 days, 25 demands) is smooth; the issue says intermittent when > 1.32."""
    series = [1, 0] * 8 + [1] * 17
    demand_class = classify_demand(series)
    assert demand_class.adi == 1.32
    assert demand_class.kind == "smooth"
    assert classify_demand(series + [0, 1]).kind == "intermittent"


def test_cv2_uses_the_sample_standard_deviation() -> None:
    sizes = [1, 3, 8]
    expected = (statistics.stdev(sizes) / statistics.fmean(sizes)) ** 2
    assert classify_demand([1, 3, 8]).cv2 == pytest.approx(expected)


def test_sigma_daily_is_the_sample_standard_deviation() -> None:
    assert sigma_daily([1, 2, 3, 4]) == pytest.approx(1.2909944487)
    assert sigma_daily([1, 2, 3, 4]) > statistics.pstdev([1, 2, 3, 4])
    assert sigma_daily([7]) == 0.0
    assert sigma_daily([]) == 0.0
    assert sigma_daily([2, 2, 2]) == 0.0


def test_velocity_uses_in_stock_days() -> None:
    """§4.2: 60 units, 30-day window, 10 days out of stock → 3.0/day (2.0 naive)."""
    assert velocity(60, 20, 30) == Velocity(3.0, 20, "in_stock")
    assert velocity(60, None, 30) == Velocity(2.0, 30, "calendar")
    # a new SKU: 30 units in its first 30 days of a 90-day window → 1.0, not 0.33
    assert velocity(30, 30, min(90, 30)) == Velocity(1.0, 30, "in_stock")
    assert velocity(0, 0, 30) == Velocity(0.0, 0, "in_stock")
    assert velocity(6, 0, 30) == Velocity(0.2, 30, "calendar")  # history contradicts sales
    assert velocity(0, None, 0) == Velocity(0.0, 0, "calendar")


@pytest.mark.parametrize(("args", "name"), [
    ((-1, 10, 30), "units"), ((1, 31, 30), "in_stock_days"), ((1, -1, 30), "in_stock_days"),
    ((1, 10, -1), "calendar_days"), ((math.nan, 1, 1), "units")])
def test_velocity_rejects_bad_inputs(args: tuple, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        velocity(*args)


def test_observed_days_drop_out_of_stock_zero_days_only() -> None:
    daily = [2, 0, 0, 3, 1, 0]
    in_stock = [True, False, True, False, True, False]
    assert observed_days(daily, in_stock) == [2.0, 0.0, 3.0, 1.0]  # day 3 sold → observed
    assert observed_days(daily, None) == [float(v) for v in daily]
    with pytest.raises(ValueError, match="must match"):
        observed_days(daily, [True])


def test_choose_method() -> None:
    assert choose_method([2, 3, 1, 2]) == RateChoice(2.0, "calendar_mean")
    assert choose_method([2, 3, 1, 2], [True] * 4) == RateChoice(2.0, "in_stock_mean")
    rate, method = choose_method(R_FORECAST_26, [True] * 7)
    assert method == "croston_sba"
    assert rate == pytest.approx(croston(R_FORECAST_26, 0.1, "sba"))
    assert choose_method([0, 0], [False, False]) == RateChoice(0.0, "no_in_stock_days")
    assert choose_method([0, 0, 0], [True] * 3) == RateChoice(0.0, "in_stock_mean")


def test_out_of_stock_zeros_do_not_make_a_sku_intermittent() -> None:
    daily = [3, 0, 0, 0, 2, 0, 0, 0, 4]
    in_stock = [True, False, False, False, True, False, False, False, True]
    assert choose_method(daily, None).method == "croston_sba"
    assert choose_method(daily, in_stock) == RateChoice(3.0, "in_stock_mean")


def test_croston_is_deterministic_and_non_negative_on_random_series() -> None:
    rng = random.Random(4)
    for _ in range(200):
        series = [rng.choice([0, 0, 0, 1, 2, 5]) for _ in range(rng.randint(1, 40))]
        for variant in ("classic", "sba", "tsb"):
            rate = croston(series, 0.1, variant)  # type: ignore[arg-type]
            assert rate >= 0 and math.isfinite(rate)
            assert rate <= max(series)
