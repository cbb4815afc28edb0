"""The planning maths' fast paths give exactly what the one-by-one functions give.

``plan_replenishments`` (the whole catalogue at once), ``bundle_risk_level`` and the
``as_number`` fast path exist for speed at catalogue scale; these tests pin them to the
one-value functions.
"""

from __future__ import annotations

import math
import random
from datetime import date
from decimal import Decimal
from fractions import Fraction

import numpy as np
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


def test_plan_replenishments_equals_the_formulas_one_by_one() -> None:
    """The catalogue-wide plan, element by element, is what the one-value functions give."""
    rng = random.Random(7)
    rows = []
    for _ in range(3000):
        d = rng.choice([0.0, rng.random() * 5, rng.random() * 100, 1 / 3])
        position = rng.uniform(-50, 800)
        rows.append((d, rng.choice([0.0, rng.random() * 3]), rng.choice([0, 30, 60, 70]),
                     rng.choice([0, 45, 60]),
                     inv.z_for_service_level(rng.choice([0.5, 0.9, 0.95, 0.99])), position,
                     rng.choice([position, rng.uniform(-10, 500), 0.0])))
    d, sigma, lead, review, z, position, on_hand = (np.array(c) for c in zip(*rows, strict=True))
    plan = inv.plan_replenishments(d=d, sigma_d=sigma, lead_time_days=lead,
                                   review_days=review, z=z, position=position,
                                   on_hand=on_hand, as_of=AS_OF)
    for i, (d_, sigma_, lead_, review_, z_, position_, on_hand_) in enumerate(rows):
        ss = inv.safety_stock(z_, sigma_, lead_)
        rop = inv.reorder_point(d_, lead_, ss)
        target = inv.order_up_to(d_, lead_, review_, ss)
        rec = inv.recommend(target, position_, rop, demand=d_)
        assert (plan.safety_stock[i], plan.reorder_point[i], plan.target[i]) == (ss, rop, target)
        assert (plan.quantity[i], inv.REASONS[plan.reason[i]]) == (rec.quantity, rec.reason)
        assert plan.units[i] == inv.whole_units(rec.quantity)
        cover = inv.days_of_cover(on_hand_, d_)
        assert (np.isnan(plan.days_of_cover[i]) and cover is None) or \
            plan.days_of_cover[i] == cover
        day = plan.stockout_date[i]
        assert (None if np.isnat(day) else day.item()) == inv.stockout_date(AS_OF, on_hand_, d_)


def test_plan_replenishments_checks_its_inputs() -> None:
    good = {"d": [1.0], "sigma_d": [1.0], "lead_time_days": [70], "review_days": [60],
            "z": [1.28], "position": [10.0], "on_hand": [10.0], "as_of": AS_OF}
    for name, bad in (("d", -1), ("sigma_d", math.nan), ("review_days", -5), ("z", math.inf),
                      ("position", math.nan), ("lead_time_days", -70)):
        with pytest.raises(ValueError, match=name if name != "on_hand" else "available"):
            inv.plan_replenishments(**{**good, name: [bad]})


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
