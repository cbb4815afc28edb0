"""Inventory formulas: z, safety stock, reorder point, order-up-to target and the recommendation.

Notation (``planning_and_marketplace_apis.md`` §3.1): d = mean demand per day, σ_d = standard
deviation of daily demand, L = lead time in days, T = target coverage (review) days,
z = Φ⁻¹(cycle service level). Every function is pure; invalid inputs raise ValueError with one
sentence that names the value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import NormalDist

from supplybrain_pipelines.logic.planning._numbers import as_count, as_number

#: Lead-time components of the old canonical engine (``seed_backend_domain.md`` §3.8 step 0):
#: production 30 + China → NSK 30 + packaging 3 + NSK → WB 7 = 70 days.
DEFAULT_LEAD_TIME_COMPONENTS: Mapping[str, int] = {
    "production": 30,
    "china_to_nsk": 30,
    "packaging": 3,
    "nsk_to_wb": 7,
}

#: Recommendation reasons.
REASON_AT_OR_BELOW_ROP = "position_at_or_below_rop"
REASON_ABOVE_ROP = "position_above_rop"
REASON_NO_DEMAND = "no_demand"


def z_for_service_level(p: float) -> float:
    """z = Φ⁻¹(p), the standard normal quantile of the cycle service level p.

    Source: ``planning_and_marketplace_apis.md`` §3.1 (z table computed with
    ``statistics.NormalDist().inv_cdf``: z(0.90) = 1.2816, z(0.95) = 1.6449).
    ``p`` is a probability strictly between 0 and 1 (0.9 for 90 %); a percentage such as 90,
    or 0, or 1, raises ValueError.
    """
    p = as_number("service level", p, minimum=None)
    if not 0.0 < p < 1.0:
        raise ValueError(
            f"service level must be strictly between 0 and 1 (0.9 for 90 %), got {p!r}")
    return NormalDist().inv_cdf(p)


def safety_stock(z: float, sigma_d: float, lead_time_days: float) -> float:
    """SS = z · σ_d · √L (constant lead time).

    Source: §3.1 "Safety stock, constant L"; inventorize ``reorderpoint`` (d = 50, σ_d = 5,
    L = 6, CSL 0.90 → SS 15.6957, reference table §3.6 #6).
    """
    z = as_number("z", z, minimum=None)
    sigma_d = as_number("sigma_d", sigma_d)
    lead_time_days = as_number("lead_time_days", lead_time_days)
    return _safety_stock(z, sigma_d, lead_time_days)


def _safety_stock(z: float, sigma_d: float, lead_time_days: float) -> float:
    """:func:`safety_stock` on checked inputs."""
    return z * sigma_d * math.sqrt(lead_time_days)


def reorder_point(d: float, lead_time_days: float, ss: float) -> float:
    """ROP = d · L + SS: demand over the lead time plus safety stock.

    Source: §3.1 "Reorder point (continuous review)"; §3.6 #6 gives ROP 315.6957.
    """
    d = as_number("d", d)
    lead_time_days = as_number("lead_time_days", lead_time_days)
    return _reorder_point(d, lead_time_days, as_number("ss", ss, minimum=None))


def _reorder_point(d: float, lead_time_days: float, ss: float) -> float:
    """:func:`reorder_point` on checked inputs."""
    return d * lead_time_days + ss


def order_up_to(d: float, lead_time_days: float, review_days: float, ss: float) -> float:
    """Target = d · (L + T) + SS: cover the lead time plus T days, plus safety stock.

    Source: §3.1 "Coverage targets: target = d̂·(L + T) + SS" (frePPLe period of cover, Odoo
    visibility days); issue 4 uses T = target coverage (60 days by default).
    """
    d = as_number("d", d)
    lead_time_days = as_number("lead_time_days", lead_time_days)
    review_days = as_number("review_days", review_days)
    return _order_up_to(d, lead_time_days, review_days, as_number("ss", ss, minimum=None))


def _order_up_to(d: float, lead_time_days: float, review_days: float, ss: float) -> float:
    """:func:`order_up_to` on checked inputs."""
    return d * (lead_time_days + review_days) + ss


@dataclass(frozen=True, slots=True)
class Recommendation:
    """How much to order (units, not yet rounded) and why."""

    quantity: float
    reason: str


def recommend(target: float, position: float, rop: float, *,
              demand: float | None = None) -> Recommendation:
    """Order ``target − position`` when position ≤ ROP, else 0 — the (s, S) rule.

    Source: §3.1 "(s,S) orders S − position" when the inventory position is ≤ s; ERPNext
    (§3.4) uses the same "≤". The quantity is ``max(target − position, 0)`` so that a target
    below the position never yields a negative order. When ``demand`` is given and is 0 the
    reason is ``no_demand`` and the quantity 0, whatever the position.
    """
    target = as_number("target", target, minimum=None)
    position = as_number("position", position, minimum=None)
    rop = as_number("rop", rop, minimum=None)
    return _recommend(target, position, rop,
                      None if demand is None else as_number("demand", demand))


def _recommend(target: float, position: float, rop: float, demand: float | None
               ) -> Recommendation:
    """:func:`recommend` on checked inputs."""
    if demand is not None and demand == 0.0:
        return Recommendation(0.0, REASON_NO_DEMAND)
    if position <= rop:
        return Recommendation(max(target - position, 0.0), REASON_AT_OR_BELOW_ROP)
    return Recommendation(0.0, REASON_ABOVE_ROP)


def whole_units(quantity: float, *, tolerance: float = 1e-9) -> int:
    """The smallest whole number of units ≥ ``quantity`` (0 for quantity ≤ 0).

    A factory order is in whole pieces, so a fractional recommendation is rounded up
    (as ERPNext does with ``ceil`` for whole-number UOMs, §3.4). ``tolerance`` absorbs float
    noise, so 12.000000000001 is 12, not 13.
    """
    return _whole_units(as_number("quantity", quantity, minimum=None), tolerance)


def _whole_units(quantity: float, tolerance: float = 1e-9) -> int:
    """:func:`whole_units` on a checked quantity."""
    if quantity <= 0:
        return 0
    return math.ceil(quantity - tolerance)


def days_of_cover(available: float, d: float) -> float | None:
    """DoS = max(available, 0) / d, or None when d == 0 (cover is unbounded, not a number).

    Source: §3.1 "Days of supply / coverage: DoS = available_position / d̂". A negative
    position (backorders) has zero cover.
    """
    return _days_of_cover(as_number("available", available, minimum=None), as_number("d", d))


def _days_of_cover(available: float, d: float) -> float | None:
    """:func:`days_of_cover` on checked inputs."""
    if d == 0.0:
        return None
    return max(available, 0.0) / d


def stockout_date(as_of: date, available: float, d: float) -> date | None:
    """Projected stock-out date = as_of + ⌊DoS⌋ days, None when d == 0 or beyond year 9999.

    Convention: demand d is consumed every day starting on ``as_of``; with ``available`` = 10
    and d = 2 the stock lasts 5 days, so it runs out on ``as_of + 5``. No stock means
    ``as_of``. (DoS from :func:`days_of_cover`.)
    """
    return _stockout_date(as_of, days_of_cover(available, d))


def _stockout_date(as_of: date, cover: float | None) -> date | None:
    """:func:`stockout_date` from an already computed cover."""
    if cover is None:
        return None
    try:
        return as_of + timedelta(days=math.floor(cover))
    except OverflowError:
        return None


@dataclass(frozen=True, slots=True)
class Replenishment:
    """One SKU unit's plan: the formulas above with their inputs checked once."""

    safety_stock: float
    reorder_point: float
    target: float
    recommendation: Recommendation
    units: int
    days_of_cover: float | None
    stockout_date: date | None


def plan_replenishment(*, d: float, sigma_d: float, lead_time_days: float, review_days: float,
                       z: float, position: float, on_hand: float, as_of: date
                       ) -> Replenishment:
    """SS, ROP, target, the recommendation, whole units, cover and stock-out date of one SKU.

    Exactly :func:`safety_stock`, :func:`reorder_point`, :func:`order_up_to`,
    :func:`recommend` (with ``demand=d``), :func:`whole_units` of the recommended quantity,
    and :func:`days_of_cover` / :func:`stockout_date` of ``on_hand``, computed by the same
    expressions; each input is checked once instead of once per formula.
    """
    d = as_number("d", d)
    sigma_d = as_number("sigma_d", sigma_d)
    lead_time_days = as_number("lead_time_days", lead_time_days)
    review_days = as_number("review_days", review_days)
    z = as_number("z", z, minimum=None)
    position = as_number("position", position, minimum=None)
    on_hand = as_number("available", on_hand, minimum=None)
    ss = _safety_stock(z, sigma_d, lead_time_days)
    rop = _reorder_point(d, lead_time_days, ss)
    target = _order_up_to(d, lead_time_days, review_days, ss)
    recommendation = _recommend(target, position, rop, d)
    cover = _days_of_cover(on_hand, d)
    return Replenishment(ss, rop, target, recommendation, _whole_units(recommendation.quantity),
                         cover, _stockout_date(as_of, cover))


def lead_time(components: Mapping[str, int] | None = None) -> int:
    """L = Σ lead-time components in days; default 30 + 30 + 3 + 7 = 70.

    Source: ``seed_backend_domain.md`` §3.8 step 0 (production, china_to_nsk, packaging,
    nsk_to_wb); issue 4 "lead time = sum of its components". The mapping is summed exactly as
    given; to override one component, pass ``{**DEFAULT_LEAD_TIME_COMPONENTS, "production": 45}``.
    """
    parts = DEFAULT_LEAD_TIME_COMPONENTS if components is None else components
    total = 0
    for name, days in parts.items():
        total += as_count(f"lead-time component {name!r} (days)", days)
    return total
