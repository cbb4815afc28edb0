"""Inventory formulas against the reference values of planning_and_marketplace_apis.md §3.6."""

from __future__ import annotations

import math
from datetime import date

import pytest

from supplybrain_pipelines.logic.planning.inventory import (
    DEFAULT_LEAD_TIME_COMPONENTS,
    Recommendation,
    days_of_cover,
    lead_time,
    order_up_to,
    recommend,
    reorder_point,
    safety_stock,
    stockout_date,
    whole_units,
    z_for_service_level,
)


@pytest.mark.parametrize(("p", "z"), [
    (0.80, 0.8416), (0.85, 1.0364), (0.90, 1.2816), (0.95, 1.6449), (0.975, 1.9600),
    (0.98, 2.0537), (0.99, 2.3263), (0.995, 2.5758), (0.999, 3.0902)])
def test_z_matches_the_reference_table(p: float, z: float) -> None:
    assert round(z_for_service_level(p), 4) == z


@pytest.mark.parametrize("p", [0, 1, 0.0, 1.0, 90, -0.1, math.nan, math.inf, True, "0.9", None])
def test_z_rejects_anything_but_a_probability(p: object) -> None:
    with pytest.raises(ValueError, match="service level"):
        z_for_service_level(p)  # type: ignore[arg-type]


def test_inventorize_reorder_point_example() -> None:
    """inventorize reorderpoint(50, 5, 6, 0.90): DL 300, σ_DL 12.2474, SS 15.6957, ROP 315.6957."""
    z = z_for_service_level(0.90)
    ss = safety_stock(z, 5, 6)
    assert round(5 * math.sqrt(6), 4) == 12.2474
    assert round(ss, 4) == 15.6957
    assert round(reorder_point(50, 6, ss), 4) == 315.6957
    assert reorder_point(50, 6, 0) == 300


def test_periodic_review_reference_case() -> None:
    """§3.6 #12: d 20, σ 6, L 14, R 7, CSL 0.95 → S 465.226; continuous ROP(L = 14) 316.927."""
    z = z_for_service_level(0.95)
    ss_review = safety_stock(z, 6, 14 + 7)
    assert round(ss_review, 3) == 45.226
    assert round(order_up_to(20, 14, 7, ss_review), 3) == 465.226
    ss = safety_stock(z, 6, 14)
    assert round(ss, 3) == 36.927
    assert round(reorder_point(20, 14, ss), 3) == 316.927


def test_issue_defaults_give_a_target_of_130_days_of_demand_plus_ss() -> None:
    z = z_for_service_level(0.90)
    ss = safety_stock(z, 2.0, 70)
    assert order_up_to(3.0, 70, 60, ss) == pytest.approx(3.0 * 130 + ss)
    assert ss == pytest.approx(1.2815515655446004 * 2.0 * math.sqrt(70))


@pytest.mark.parametrize(("call", "name"), [
    (lambda: safety_stock(1.28, -1, 6), "sigma_d"),
    (lambda: safety_stock(1.28, 5, -6), "lead_time_days"),
    (lambda: reorder_point(-1, 6, 0), "d"),
    (lambda: order_up_to(1, 6, -1, 0), "review_days"),
    (lambda: reorder_point(math.nan, 6, 0), "d"),
])
def test_invalid_inputs_name_the_value(call, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        call()


def test_recommend_orders_up_to_target_at_or_below_rop() -> None:
    assert recommend(500, 200, 315.7) == Recommendation(300, "position_at_or_below_rop")
    assert recommend(500, 315.7, 315.7) == Recommendation(184.3, "position_at_or_below_rop")
    assert recommend(500, 315.8, 315.7) == Recommendation(0.0, "position_above_rop")
    assert recommend(500, -20, 315.7).quantity == 520  # backorders raise the order


def test_recommend_reports_no_demand_and_never_negative() -> None:
    assert recommend(0, 0, 0, demand=0) == Recommendation(0.0, "no_demand")
    assert recommend(0, 0, 0, demand=0.5).reason == "position_at_or_below_rop"
    assert recommend(10, 12, 20).quantity == 0.0


@pytest.mark.parametrize(("qty", "units"), [
    (0, 0), (-3.5, 0), (12.0, 12), (12.000000000001, 12), (12.2, 13), (0.01, 1)])
def test_whole_units_rounds_up(qty: float, units: int) -> None:
    assert whole_units(qty) == units


def test_days_of_cover() -> None:
    assert days_of_cover(60, 2) == 30.0
    assert days_of_cover(0, 2) == 0.0
    assert days_of_cover(-5, 2) == 0.0
    assert days_of_cover(60, 0) is None


def test_stockout_date() -> None:
    as_of = date(2026, 3, 1)
    assert stockout_date(as_of, 10, 2) == date(2026, 3, 6)
    assert stockout_date(as_of, 10, 3) == date(2026, 3, 4)  # 3.33 days → 3 full days
    assert stockout_date(as_of, 0, 3) == as_of
    assert stockout_date(as_of, 10, 0) is None
    assert stockout_date(as_of, 1e9, 1e-9) is None  # beyond year 9999


def test_lead_time_is_the_sum_of_components() -> None:
    assert lead_time() == 70
    assert sum(DEFAULT_LEAD_TIME_COMPONENTS.values()) == 70
    assert lead_time({**DEFAULT_LEAD_TIME_COMPONENTS, "production": 45}) == 85
    assert lead_time({"production": 10}) == 10
    assert lead_time({}) == 0
    with pytest.raises(ValueError, match="packaging"):
        lead_time({"packaging": -1})
    with pytest.raises(ValueError, match="production"):
        lead_time({"production": 2.5})  # type: ignore[dict-item]
