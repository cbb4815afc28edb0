"""The planning maths' fast paths give exactly what the one-by-one functions give.

``plan_replenishment``, ``bundle_risk_level`` and the ``as_number`` fast
path exist for speed at catalogue scale; these tests pin them to the functions they fuse.
"""

from __future__ import annotations

import math
import random
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from supplybrain_pipelines.logic.planning import inventory as inv
from supplybrain_pipelines.logic.planning._numbers import as_number
from supplybrain_pipelines.logic.planning.risk import bundle_risk_level, classify_bundle_risk

AS_OF = date(2026, 11, 26)


@pytest.mark.parametrize("value", [0, 3, 2.5, 1e300, Decimal("1.5"), Fraction(1, 3)])
def test_as_number_accepts_numbers(value: object) -> None:
    assert as_number("x", value) == float(value)


@pytest.mark.parametrize(("value", "message"), [
    (True, "x must be a number, got bool"), (None, "x must be a number, got NoneType"),
    ("1", "x must be a number, got str"), (math.nan, "x must be a finite number"),
    (math.inf, "x must be a finite number"), (-1, "x must be at least 0"),
    (-0.5, "x must be at least 0"), (Decimal("-1"), "x must be at least 0")])
def test_as_number_rejects_the_same_values_on_both_paths(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        as_number("x", value)


def test_as_number_minimum_none_and_custom() -> None:
    assert as_number("x", -3, minimum=None) == -3.0
    assert as_number("x", 5, minimum=5) == 5.0
    with pytest.raises(ValueError, match="at least 6"):
        as_number("x", 5, minimum=6)


def test_plan_replenishment_equals_the_formulas_one_by_one() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        d = rng.choice([0.0, rng.random() * 5, rng.random() * 100, 1 / 3])
        sigma = rng.choice([0.0, rng.random() * 3])
        lead = rng.choice([0, 30, 60, 70])
        review = rng.choice([0, 45, 60])
        z = inv.z_for_service_level(rng.choice([0.5, 0.9, 0.95, 0.99]))
        position = rng.uniform(-50, 800)
        on_hand = rng.choice([position, rng.uniform(-10, 500), 0.0])
        plan = inv.plan_replenishment(d=d, sigma_d=sigma, lead_time_days=lead,
                                      review_days=review, z=z, position=position,
                                      on_hand=on_hand, as_of=AS_OF)
        ss = inv.safety_stock(z, sigma, lead)
        rop = inv.reorder_point(d, lead, ss)
        target = inv.order_up_to(d, lead, review, ss)
        rec = inv.recommend(target, position, rop, demand=d)
        assert (plan.safety_stock, plan.reorder_point, plan.target) == (ss, rop, target)
        assert plan.recommendation == rec
        assert plan.units == inv.whole_units(rec.quantity)
        assert plan.days_of_cover == inv.days_of_cover(on_hand, d)
        assert plan.stockout_date == inv.stockout_date(AS_OF, on_hand, d)


def test_plan_replenishment_checks_its_inputs() -> None:
    good = {"d": 1.0, "sigma_d": 1.0, "lead_time_days": 70, "review_days": 60, "z": 1.28,
            "position": 10.0, "on_hand": 10.0, "as_of": AS_OF}
    for name, bad in (("d", -1), ("sigma_d", math.nan), ("lead_time_days", True),
                      ("review_days", -5), ("z", math.inf), ("position", None)):
        with pytest.raises(ValueError):
            inv.plan_replenishment(**{**good, name: bad})


@pytest.mark.parametrize(("total", "avg", "text"), [
    (8, 2.0, "4.00 days of cover (8 available / 2 per day) ≤ safety 7 days"),
    (20, 2.0, "10.00 days of cover (20 available / 2 per day): above safety 7, ≤ alert 14"),
    (30, 2.0, "15.00 days of cover (30 available / 2 per day): above alert 14, below "
              "overstock 42"),
    (100, 2.0, "50.00 days of cover (100 available / 2 per day) ≥ overstock 42 days"),
    (50, 0, "no sales in the window and 50 available"),
    (0, 0, "no sales and nothing available"),
    (-4, 2.0, "-2.00 days of cover (-4 available / 2 per day) ≤ safety 7 days")])
def test_risk_level_and_text_agree(total: float, avg: float, text: str) -> None:
    result = classify_bundle_risk(total, avg)
    assert result.explanation == text
    assert bundle_risk_level(total, avg) == (result.level, result.days_of_cover)
