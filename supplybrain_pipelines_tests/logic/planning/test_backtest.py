"""The policy backtest against theory and hand-worked runs (SS = z·σ·√L, ROP = d·L + SS,
target = d·(L + T) + SS, order ⌈target − ROP⌉ when the position reaches the ROP)."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from supplybrain_pipelines.logic.planning.backtest import simulate
from supplybrain_pipelines.logic.planning.minimums import round_to_pack, round_to_packs


def run(demand, start, *, d, sigma=0.0, lead=5, coverage=20, level=0.9, pack=None):
    x = np.atleast_2d(np.asarray(demand, dtype=float))
    n = x.shape[0]
    return simulate(x, np.full(n, float(start)), d=np.full((n, 1), float(d)),
                    sigma=np.full((n, 1), float(sigma)), lead=np.full(n, lead),
                    coverage=np.full(n, coverage), z=np.full(n, NormalDist().inv_cdf(level)),
                    pack_multiple=None if pack is None else np.full(n, pack))


def test_deterministic_demand_with_lead_time_below_coverage_never_runs_out():
    # 10 a day, L 5, T 20, σ 0: ROP 50, target 250. From 100 in stock the position reaches 50
    # at the end of day 4: 200 ordered, arriving at the end of day 9 as the last unit goes;
    # again at the end of day 24 (arrives at the end of day 29).
    r = run([10.0] * 30, 100, d=10)
    assert r.fill_rate.tolist() == [1.0]
    assert r.stockout_days.tolist() == [0]
    assert r.orders.tolist() == [2] and r.units_ordered.tolist() == [400]
    assert r.cycles.tolist() == [2] and r.cycle_service_level.tolist() == [1.0]
    # end-of-day stock: 90 … 10, 200, 190 … 10, 200 → 2750 / 30
    assert r.average_on_hand.tolist() == pytest.approx([91.666667])


def test_starting_empty_loses_the_demand_of_the_first_lead_time():
    # 0 in stock: 250 ordered at once, arriving at the start of day 5; days 0–4 lose 10 each
    r = run([10.0] * 10, 0, d=10)
    assert r.demanded.tolist() == [100.0] and r.served.tolist() == [50.0]
    assert r.fill_rate.tolist() == [0.5]
    assert r.stockout_days.tolist() == [5]
    assert r.orders.tolist() == [1] and r.units_ordered.tolist() == [250]
    assert r.cycles.tolist() == [1] and r.cycle_service_level.tolist() == [0.0]
    assert r.average_on_hand.tolist() == pytest.approx([110.0])  # (240+230+220+210+200) / 10


def test_orders_are_rounded_up_to_the_pack_multiple():
    # as the first case, 200 needed, packs of 60 → 240
    r = run([10.0] * 10, 100, d=10, pack=60)
    assert r.units_ordered.tolist() == [240]
    assert round_to_packs(np.array([200, 0, 32, 36]), np.array([60, 6, 6, 1])).tolist() == [
        240, 0, 36, 36]
    for qty in range(0, 40):
        for multiple in (1, 2, 6, 7):
            assert round_to_packs(np.array([qty]), np.array([multiple]))[0] == \
                round_to_pack(qty, multiple)


def test_a_fractional_target_is_ordered_in_whole_units():
    # d 3, L 5, T 20.5 (not a setting production allows, but the maths): target − ROP = 61.5 → 62
    r = simulate(np.full((1, 3), 3.0), np.array([16.0]), d=np.array([[3.0]]),
                 sigma=np.array([[0.0]]), lead=np.array([5]), coverage=np.array([20.5]),
                 z=np.array([0.0]))
    assert r.units_ordered.tolist() == [62]


def test_without_demand_nothing_is_ordered_and_nothing_is_scored():
    r = run([0.0] * 20, 0, d=0)
    assert r.orders.tolist() == [0] and r.stockout_days.tolist() == [0]
    assert math.isnan(r.fill_rate[0]) and math.isnan(r.cycle_service_level[0])


def test_the_rate_is_reestimated_per_block():
    # a zero rate for the first 7 days (no order, the stock runs out on day 3), then 10 a day:
    # on day 7 the position (0) is at the ROP (50) at the start: 250 ordered, arriving day 12
    demand = np.full((1, 14), 10.0)
    r = simulate(demand, np.array([30.0]), d=np.array([[0.0, 10.0]]),
                 sigma=np.zeros((1, 2)), lead=np.array([5]), coverage=np.array([20]),
                 z=np.array([0.0]), reestimate_every=7)
    assert r.orders.tolist() == [1] and r.units_ordered.tolist() == [250]
    assert r.served.tolist() == [50.0]  # days 0–2 and days 12–13
    assert r.stockout_days.tolist() == [9]  # days 3–11


@pytest.mark.parametrize("level", [0.90, 0.975])
def test_normal_demand_achieves_the_target_cycle_service_level(level):
    # Demand ~ N(20, 5²) a day (seeded), the project's defaults L 70 and T 60, SS = z·5·√70:
    # theory says a fraction `level` of replenishment cycles ends without a stock-out.
    rng = np.random.default_rng(2026)
    n, days = 300, 1500
    demand = np.maximum(rng.normal(20.0, 5.0, (n, days)), 0.0)
    z = NormalDist().inv_cdf(level)
    r = simulate(demand, np.full(n, 20.0 * 130 + z * 5.0 * math.sqrt(70)),
                 d=np.full((n, 1), 20.0), sigma=np.full((n, 1), 5.0), lead=np.full(n, 70),
                 coverage=np.full(n, 60), z=np.full(n, z), reestimate_every=days)
    cycles = int(r.cycles.sum())
    achieved = 1 - r.cycles_stocked_out.sum() / cycles
    assert cycles > 6000
    assert abs(achieved - level) <= 0.02


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="lead times"):
        run([1.0], 0, d=1, lead=0)
    with pytest.raises(ValueError, match="demand"):
        run([-1.0], 0, d=1)
