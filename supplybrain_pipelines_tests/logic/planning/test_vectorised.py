"""The catalogue-wide (array) planning maths against hand-worked rows.

Each row is one SKU unit, as ``planning_proposals`` plans it: z per service level, SS = z·σ·√L,
ROP = d·L + SS, target = d·(L + T) + SS, units = ⌈target − position − 1e-9⌉ when d > 0 and
position ≤ ROP, else 0; cover = max(on hand, 0) / d; stock-out = as-of + ⌊cover⌋ days; the risk
level from the old backend's table (safety 7, alert 14, overstock 42). As-of 2026-11-30.
z(0.90) = 1.2815515655446004, z(0.95) = 1.6448536269514722 (scenarios/README.md; the last
digit of z depends on the Python build, so the rows compare to 1e-15 relative).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from supplybrain_pipelines.logic.planning import inventory as inv
from supplybrain_pipelines.logic.planning.risk import risk_levels

Z90 = 1.2815515655446004
AS_OF = np.datetime64("2026-11-30")
NAT = None

#: d, σ, L, T, position, on hand → SS, ROP, target, reason, units, cover, stock-out, risk
ROWS = [
    # steady: 2/day, no spread, position 100 ≤ ROP 140 → 260 − 100 = 160; 100 / 2 = 50 days
    ((2.0, 0.0, 70, 60, 100.0, 100.0),
     (0.0, 140.0, 260.0, "position_at_or_below_rop", 160, 50.0, "2027-01-19", "overstock")),
    # no demand: 0 whatever the position; no cover, no stock-out; stock without sales
    ((0.0, 0.0, 70, 60, 30.0, 30.0),
     (0.0, 0.0, 0.0, "no_demand", 0, None, NAT, "overstock")),
    # above the ROP: 500 > 3·70 = 210 → 0; cover 500/3 = 166.67 → +166 days = 2027-05-15
    ((3.0, 0.0, 70, 60, 500.0, 500.0),
     (0.0, 210.0, 390.0, "position_above_rop", 0, 500 / 3, "2027-05-15", "overstock")),
    # scenario "alternating": σ = √(30/29) = 1.0170952554312156, SS = Z90·σ·√70 = 10.9055…;
    # 270.9055 − 20 = 250.9055 → 251; 20 / 2 = 10 days → warning
    ((2.0, 1.0170952554312156, 70, 60, 20.0, 20.0),
     (10.905528923305635, 150.90552892330564, 270.9055289233056, "position_at_or_below_rop",
      251, 10.0, "2026-12-10", "warning")),
    # position exactly at the ROP (10) counts; 12 − 10 = 2 exactly (no float noise); 4 days
    ((1.0, 0.0, 10, 2, 10.0, 4.0),
     (0.0, 10.0, 12.0, "position_at_or_below_rop", 2, 4.0, "2026-12-04", "critical")),
    # backorders: position −5 → 12 + 5 = 17; nothing on hand → cover 0, stock-out today
    ((1.0, 0.0, 10, 2, -5.0, 0.0),
     (0.0, 10.0, 12.0, "position_at_or_below_rop", 17, 0.0, "2026-11-30", "critical")),
    # a stock-out beyond year 9999 is no date: 1e9 on hand at 1e-9/day = 1e18 days
    ((1e-9, 0.0, 70, 60, 1e9, 1e9),
     (0.0, 7e-08, 1.3e-07, "position_above_rop", 0, 1e18, NAT, "overstock")),
]


def test_z_per_service_level() -> None:
    z = inv.z_for_service_levels(np.array([0.9, 0.95, 0.9]))
    # the last digit of Φ⁻¹ differs between Python builds (…004 here, …008 on 3.11.7)
    assert z.tolist() == pytest.approx([Z90, 1.6448536269514722, Z90], rel=1e-15)
    assert z[0] == z[2] == inv.z_for_service_level(0.9)
    with pytest.raises(ValueError, match="service level"):
        inv.z_for_service_levels(np.array([0.9, 90.0]))


def test_plan_replenishments_gives_the_hand_worked_rows() -> None:
    d, sigma, lead, review, position, on_hand = (np.array(c, dtype=float)
                                                 for c in zip(*(r[0] for r in ROWS), strict=True))
    plan = inv.plan_replenishments(d=d, sigma_d=sigma, lead_time_days=lead, review_days=review,
                                   z=np.full(len(ROWS), Z90), position=position,
                                   on_hand=on_hand, as_of=AS_OF)
    levels, cover = risk_levels(on_hand, d)
    for i, (_inputs, expected) in enumerate(ROWS):
        ss, rop, target, reason, units, days, stockout, risk = expected
        assert plan.safety_stock[i] == pytest.approx(ss, rel=1e-15, abs=0)
        assert plan.reorder_point[i] == pytest.approx(rop, rel=1e-15, abs=0)
        assert plan.target[i] == pytest.approx(target, rel=1e-15, abs=0)
        assert inv.REASONS[plan.reason[i]] == reason
        assert plan.units[i] == units
        if days is None:
            assert math.isnan(plan.days_of_cover[i])
        else:
            assert plan.days_of_cover[i] == pytest.approx(days, rel=1e-15)
        assert (None if np.isnat(plan.stockout_date[i]) else str(plan.stockout_date[i])) == \
            stockout
        assert levels[i] == risk
        if days is not None and days != 0:
            assert cover[i] == pytest.approx(days, rel=1e-15)


def test_units_absorb_float_noise_and_round_up() -> None:
    units = inv.whole_units_of(np.array([0.0, -3.5, 12.0, 12.000000000001, 12.2, 0.01]))
    assert units.tolist() == [0, 0, 12, 12, 13, 1]


def test_bad_values_name_the_input_and_the_element() -> None:
    good = {"d": [1.0, 2.0], "sigma_d": [0.0, 0.0], "lead_time_days": [70, 70],
            "review_days": [60, 60], "z": [Z90, Z90], "position": [0.0, 0.0],
            "on_hand": [0.0, 0.0], "as_of": AS_OF}
    with pytest.raises(ValueError, match=r"d must be at least 0, got -2.0 \(element 1\)"):
        inv.plan_replenishments(**{**good, "d": [1.0, -2.0]})
    with pytest.raises(ValueError, match=r"sigma_d must be a finite number.*element 0"):
        inv.plan_replenishments(**{**good, "sigma_d": [math.nan, 0.0]})


def test_risk_table_with_article_thresholds() -> None:
    """Safety 7 / alert 14 (NaN → the defaults) and O = 42; an inconsistent article (safety 3,
    alert 2, O = 6): cover 10 is not ≤ 3, not in (3, 2], not in (2, 6), but ≥ 6 → overstock;
    cover 1 ≤ 3 → critical."""
    levels, cover = risk_levels(
        np.array([8, 20, 30, 100, 50, 0, 20, 2]), np.array([2, 2, 2, 2, 0, 0, 2, 2]),
        np.array([math.nan] * 6 + [3, 3]), np.array([math.nan] * 6 + [2, 2]))
    assert levels.tolist() == ["critical", "warning", "ok", "overstock", "overstock", "no_data",
                               "overstock", "critical"]
    assert cover[:4].tolist() == [4.0, 10.0, 15.0, 50.0]
    assert math.isnan(cover[4]) and math.isnan(cover[5])
    assert cover[6:].tolist() == [10.0, 1.0]
