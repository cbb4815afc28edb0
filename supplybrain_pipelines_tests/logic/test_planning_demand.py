"""Demand maths on hand-worked series: the in-stock mask, velocity, σ, ADI/CV², TSB (§4.1–4.2).

Every expected value is worked out by hand from the rules in ``logic/planning/demand.py``'s
module docstring and written as a literal.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from supplybrain_pipelines.logic.planning.demand import (
    demand_stats,
    in_stock_mask,
    summarize_series,
    tsb,
)

WORKED = [0, 0, 3, 0, 0, 0, 2, 0, 4, 0]


def test_tsb_reference_value() -> None:
    """§4.1: [0,0,3,0,0,0,2,0,4,0], α = 0.1 both: P̂ = 0.21072969, ẑ = 3.01, rate 0.63429637."""
    assert round(float(tsb(np.array([WORKED]), np.ones((1, 10), dtype=bool))[0]), 8) == (
        0.63429637)
    summary = summarize_series(WORKED)
    assert summary.method == "tsb"
    assert round(summary.rate, 8) == 0.63429637


def test_a_seller_that_stopped_decays_below_half_a_unit() -> None:
    """[5, 0, 0, 0, 5, then 25 zeros]: p = 1 → 0.9, 0.81, 0.729 → 0.7561 → 0.7561·0.9²⁵ =
    0.0542803; z = 5; rate 0.2714013 (Croston SBA gave 3.65, the mean is 0.333)."""
    summary = summarize_series([5, 0, 0, 0, 5] + [0] * 25)
    assert summary.kind == "intermittent" and summary.method == "tsb"
    assert summary.adi == 2.5
    assert summary.rate == pytest.approx(0.27140133, abs=1e-8)
    assert summary.rate < 0.5


def test_steady_seller_out_of_stock_half_the_window() -> None:
    """5 a day while in stock, recorded out (no sales) 15 of 30 days: 75 units / 15 days = 5,
    σ = 0 (the zeros are not observed), smooth."""
    daily = [5, 0] * 15
    out = [False, True] * 15
    summary = summarize_series(daily, out)
    assert (summary.units, summary.days, summary.velocity) == (75.0, 15, 5.0)
    assert summary.sigma == 0.0
    assert (summary.adi, summary.cv2, summary.kind, summary.method) == (1.0, 0.0, "smooth",
                                                                        "mean")
    assert summary.rate == 5.0


def test_a_new_sku_is_not_subtracted_twice() -> None:
    """20 recorded zero days, then 10 days selling 5: 50 units over 10 days = 5.0/day (the old
    code divided by 1 and said 50)."""
    summary = summarize_series([0] * 20 + [5] * 10, [True] * 20 + [False] * 10,
                               first_evidence=20)
    assert (summary.days, summary.rate) == (10, 5.0)
    # the same without any recorded day: the evidence alone moves the start
    assert summarize_series([0] * 20 + [5] * 10, None, 20).days == 10


def test_in_stock_mask() -> None:
    """Day 0 before the evidence; day 2 recorded out, no sale; day 3 recorded out but sold 4;
    day 4 unrecorded → counts."""
    units = np.array([[9, 0, 0, 4, 0]], dtype=float)
    out = np.array([[False, False, True, True, False]])
    assert in_stock_mask(units, out, np.array([1])).tolist() == [[False, True, False, True,
                                                                  True]]
    assert in_stock_mask(units, out, np.array([5])).tolist() == [[False] * 5]
    assert in_stock_mask(units, out, np.array([-3])).tolist() == [[True, True, False, True,
                                                                   True]]


def test_velocity_over_in_stock_days() -> None:
    """§4.2: 60 units, 30 days, 10 recorded out of stock → 3.0/day."""
    summary = summarize_series([3] * 20 + [0] * 10, [False] * 20 + [True] * 10)
    assert (summary.units, summary.days, summary.velocity, summary.rate) == (60.0, 20, 3.0, 3.0)


def test_out_of_stock_zeros_do_not_make_a_sku_intermittent() -> None:
    """[3,0,0,0,2,0,0,0,4]: all window ADI = 9/3 = 3 (TSB); with the zeros recorded out of stock
    the observed series is [3, 2, 4]: ADI 1, smooth, rate = 9/3 = 3.0."""
    daily = [3, 0, 0, 0, 2, 0, 0, 0, 4]
    assert summarize_series(daily).method == "tsb"
    masked = summarize_series(daily, [v == 0 for v in daily])
    assert (masked.adi, masked.kind, masked.method, masked.rate) == (1.0, "smooth", "mean", 3.0)
    assert masked.sigma == 1.0  # sample sd of [3, 2, 4]


def test_sigma_is_the_sample_standard_deviation() -> None:
    """[1, 2, 3, 4]: mean 2.5, Σ(x − x̄)² = 5, σ = √(5/3) = 1.2909944."""
    assert summarize_series([1, 2, 3, 4]).sigma == pytest.approx(1.2909944487, abs=1e-10)
    assert summarize_series([7]).sigma == 0.0
    assert summarize_series([2, 2, 2]).sigma == 0.0


@pytest.mark.parametrize(("series", "adi", "cv2", "kind"), [
    ([1, 0, 0, 0, 2, 0, 0], 2.5, 0.5 / 2.25, "intermittent"),     # sizes 1, 2: var 0.5
    ([5] * 10, 1.0, 0.0, "smooth"),
    ([1, 10] * 5, 1.0, 22.5 / 30.25, "erratic"),                 # mean 5.5, var 22.5
    ([0, 0, 1, 0, 0, 20, 0, 0, 1, 0, 0, 30], 3.0, 626 / 3 / 169, "lumpy"),  # mean 13, Σd² 626
    ([1, 3, 8], 1.0, 13 / 16, "erratic"),                        # mean 4, var 13
    ([0] * 30, None, None, "none"),
    ([3], 1.0, 0.0, "smooth"),
])
def test_demand_classes(series, adi, cv2, kind) -> None:
    summary = summarize_series(series)
    assert summary.kind == kind
    assert summary.adi == (None if adi is None else pytest.approx(adi))
    assert summary.cv2 == (None if cv2 is None else pytest.approx(cv2))


def test_cutoffs_are_strict() -> None:
    """33 days, 25 demands, last on day 33: ADI = 33/25 = 1.32 exactly → smooth; two more days
    (35/26 = 1.346) → intermittent."""
    series = [1, 0] * 8 + [1] * 17
    assert summarize_series(series).adi == 1.32
    assert summarize_series(series).kind == "smooth"
    assert summarize_series(series + [0, 1]).kind == "intermittent"


def test_nothing_to_count() -> None:
    empty = summarize_series([0, 0, 0], None, 3)
    assert (empty.days, empty.velocity, empty.rate, empty.sigma) == (0, 0.0, 0.0, 0.0)
    assert empty.kind == "none"


def test_rows_are_independent() -> None:
    """A catalogue is computed at once; each row equals its own one-row result."""
    rng = np.random.default_rng(3)
    units = rng.choice([0.0, 0.0, 1.0, 2.0, 7.0], size=(200, 30))
    out = rng.random((200, 30)) < 0.2
    start = rng.integers(-2, 33, size=200)
    stats = demand_stats(units, in_stock_mask(units, out, start))
    for row in range(200):
        one = summarize_series(units[row].tolist(), out[row].tolist(), int(start[row]))
        assert one.rate == stats.rate[row] and one.sigma == stats.sigma[row]
        assert one.days == stats.days[row]
        assert math.isfinite(one.rate) and one.rate >= 0


@pytest.mark.parametrize("bad", [[[1.0, -1.0]], [[math.nan]], [[math.inf, 1.0]]])
def test_bad_units_are_refused(bad) -> None:
    with pytest.raises(ValueError, match="finite numbers ≥ 0"):
        demand_stats(np.array(bad), np.ones_like(np.array(bad), dtype=bool))
