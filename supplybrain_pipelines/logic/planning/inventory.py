"""Inventory formulas: z, safety stock, reorder point, order-up-to target and the recommendation.

Notation (``planning_and_marketplace_apis.md`` §3.1): d = mean demand per day, σ_d = standard
deviation of daily demand, L = lead time in days, T = target coverage (review) days,
z = Φ⁻¹(cycle service level). Every function is pure; invalid inputs raise ValueError with one
sentence that names the value.

The formulas are written once, for numpy arrays: ``planning_proposals`` plans the whole catalogue
at once with :func:`plan_replenishments` (one element per SKU unit). The one-value functions
(:func:`safety_stock`, :func:`recommend`, …) check their value and call the same array code, so
the textbook reference values are checked against what production runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from statistics import NormalDist

import numpy as np

from supplybrain_pipelines.logic.planning._numbers import as_array, as_count, as_number

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
#: The reasons by code, as :func:`recommendations` returns them (0, 1, 2).
REASONS: tuple[str, ...] = (REASON_NO_DEMAND, REASON_AT_OR_BELOW_ROP, REASON_ABOVE_ROP)
#: Days from 1970-01-01 (numpy's day 0) to the first and last day a ``date`` can hold.
_FIRST_DAY = (date.min - date(1970, 1, 1)).days
_LAST_DAY = (date.max - date(1970, 1, 1)).days


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


def z_for_service_levels(p: np.ndarray) -> np.ndarray:
    """:func:`z_for_service_level` of every element: one inverse normal per distinct level (a
    catalogue has a handful), spread back over the array. Any bad level raises its ValueError."""
    levels = np.asarray(p, dtype=np.float64)
    distinct, inverse = np.unique(levels, return_inverse=True)
    z = np.array([z_for_service_level(level) for level in distinct.tolist()], dtype=np.float64)
    return z[inverse].reshape(levels.shape)


def safety_stocks(z: np.ndarray, sigma_d: np.ndarray, lead_time_days: np.ndarray) -> np.ndarray:
    """SS = z · σ_d · √L (constant lead time), element by element.

    Source: §3.1 "Safety stock, constant L"; inventorize ``reorderpoint`` (d = 50, σ_d = 5,
    L = 6, CSL 0.90 → SS 15.6957, reference table §3.6 #6).
    """
    return _safety_stocks(as_array("z", z, minimum=None), as_array("sigma_d", sigma_d),
                          as_array("lead_time_days", lead_time_days))


def _safety_stocks(z: np.ndarray, sigma_d: np.ndarray, lead_time_days: np.ndarray
                   ) -> np.ndarray:
    """:func:`safety_stocks` on checked arrays."""
    return z * sigma_d * np.sqrt(lead_time_days)


def reorder_points(d: np.ndarray, lead_time_days: np.ndarray, ss: np.ndarray) -> np.ndarray:
    """ROP = d · L + SS: demand over the lead time plus safety stock, element by element.

    Source: §3.1 "Reorder point (continuous review)"; §3.6 #6 gives ROP 315.6957.
    """
    return _reorder_points(as_array("d", d), as_array("lead_time_days", lead_time_days),
                           as_array("ss", ss, minimum=None))


def _reorder_points(d: np.ndarray, lead_time_days: np.ndarray, ss: np.ndarray) -> np.ndarray:
    """:func:`reorder_points` on checked arrays."""
    return d * lead_time_days + ss


def order_up_to_levels(d: np.ndarray, lead_time_days: np.ndarray, review_days: np.ndarray,
                       ss: np.ndarray) -> np.ndarray:
    """Target = d · (L + T) + SS: cover the lead time plus T days, plus safety stock.

    Source: §3.1 "Coverage targets: target = d̂·(L + T) + SS" (frePPLe period of cover, Odoo
    visibility days); issue 4 uses T = target coverage (60 days by default).
    """
    return _order_up_to_levels(as_array("d", d), as_array("lead_time_days", lead_time_days),
                               as_array("review_days", review_days),
                               as_array("ss", ss, minimum=None))


def _order_up_to_levels(d: np.ndarray, lead_time_days: np.ndarray, review_days: np.ndarray,
                        ss: np.ndarray) -> np.ndarray:
    """:func:`order_up_to_levels` on checked arrays."""
    return d * (lead_time_days + review_days) + ss


def recommendations(target: np.ndarray, position: np.ndarray, rop: np.ndarray,
                    demand: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The (s, S) rule element by element: (quantity, reason code into :data:`REASONS`).

    Order ``max(target − position, 0)`` when position ≤ ROP (reason
    ``position_at_or_below_rop``), else 0 (``position_above_rop``). Source: §3.1 "(s,S) orders
    S − position" when the inventory position is ≤ s; ERPNext (§3.4) uses the same "≤". When
    ``demand`` is given, an element with demand 0 gets 0 and ``no_demand``, whatever its
    position.
    """
    checked = None if demand is None else as_array("demand", demand)
    return _recommendations(as_array("target", target, minimum=None),
                            as_array("position", position, minimum=None),
                            as_array("rop", rop, minimum=None), checked)


def _recommendations(target: np.ndarray, position: np.ndarray, rop: np.ndarray,
                     demand: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`recommendations` on checked arrays."""
    at_or_below = position <= rop
    quantity = np.where(at_or_below, np.maximum(target - position, 0.0), 0.0)
    reason = np.where(at_or_below, 1, 2).astype(np.int8)
    if demand is not None:
        none = demand == 0.0
        quantity = np.where(none, 0.0, quantity)
        reason[none] = 0
    return quantity, reason


def whole_units_of(quantity: np.ndarray, tolerance: float = 1e-9) -> np.ndarray:
    """The smallest whole number of units ≥ each quantity (0 for quantity ≤ 0), as int64.

    A factory order is in whole pieces, so a fractional recommendation is rounded up
    (as ERPNext does with ``ceil`` for whole-number UOMs, §3.4). ``tolerance`` absorbs float
    noise, so 12.000000000001 is 12, not 13.
    """
    return _whole_units_of(as_array("quantity", quantity, minimum=None), tolerance)


def _whole_units_of(quantity: np.ndarray, tolerance: float = 1e-9) -> np.ndarray:
    """:func:`whole_units_of` on a checked array."""
    return np.where(quantity > 0, np.ceil(quantity - tolerance), 0.0).astype(np.int64)


def days_of_cover_of(available: np.ndarray, d: np.ndarray) -> np.ndarray:
    """DoS = max(available, 0) / d element by element; NaN where d = 0 (unbounded cover).

    Source: §3.1 "Days of supply / coverage: DoS = available_position / d̂". A negative
    position (backorders) has zero cover.
    """
    return _days_of_cover_of(as_array("available", available, minimum=None), as_array("d", d))


def _days_of_cover_of(available: np.ndarray, d: np.ndarray) -> np.ndarray:
    """:func:`days_of_cover_of` on checked arrays."""
    cover = np.full(np.broadcast(available, d).shape, np.nan)
    np.divide(np.maximum(available, 0.0), d, out=cover, where=d != 0.0)
    return cover


def stockout_dates(as_of: np.ndarray | date, cover: np.ndarray) -> np.ndarray:
    """Projected stock-out dates = as_of + ⌊cover⌋ days (``datetime64[D]``); NaT where the
    cover is NaN (no demand) or the date would fall outside years 1…9999.

    Convention: demand d is consumed every day starting on ``as_of``; with 10 available and
    d = 2 the stock lasts 5 days, so it runs out on ``as_of + 5``. No stock means ``as_of``.
    """
    days = np.asarray(as_of, dtype="datetime64[D]").astype(np.int64).astype(np.float64)
    out = days + np.floor(np.asarray(cover, dtype=np.float64))
    valid = (out >= _FIRST_DAY) & (out <= _LAST_DAY)  # False for NaN
    result = np.full(out.shape, np.datetime64("NaT"), dtype="datetime64[D]")
    result[valid] = out[valid].astype(np.int64).astype("datetime64[D]")
    return result


@dataclass(frozen=True, slots=True)
class Replenishments:
    """The plans of many SKU units, one element each: the formulas above with their inputs
    checked once. ``reason`` holds codes into :data:`REASONS`; ``days_of_cover`` is NaN and
    ``stockout_date`` NaT where there is no demand."""

    safety_stock: np.ndarray
    reorder_point: np.ndarray
    target: np.ndarray
    quantity: np.ndarray
    reason: np.ndarray
    units: np.ndarray
    days_of_cover: np.ndarray
    stockout_date: np.ndarray


def plan_replenishments(*, d: np.ndarray, sigma_d: np.ndarray, lead_time_days: np.ndarray,
                        review_days: np.ndarray, z: np.ndarray, position: np.ndarray,
                        on_hand: np.ndarray, as_of: np.ndarray | date) -> Replenishments:
    """SS, ROP, target, the recommendation, whole units, cover and stock-out date of every SKU.

    Exactly :func:`safety_stocks`, :func:`reorder_points`, :func:`order_up_to_levels`,
    :func:`recommendations` (with ``demand=d``), :func:`whole_units_of` of the recommended
    quantity, and :func:`days_of_cover_of` / :func:`stockout_dates` of ``on_hand``; each input
    is checked once. Example (one SKU unit): d 2, σ 0, L 70, T 60, z 1.2816, position 100,
    on hand 100 → SS 0, ROP 140, target 260, 160 units (position ≤ ROP), cover 50 days.
    """
    d = as_array("d", d)
    sigma_d = as_array("sigma_d", sigma_d)
    lead_time_days = as_array("lead_time_days", lead_time_days)
    review_days = as_array("review_days", review_days)
    z = as_array("z", z, minimum=None)
    position = as_array("position", position, minimum=None)
    on_hand = as_array("available", on_hand, minimum=None)
    ss = _safety_stocks(z, sigma_d, lead_time_days)
    rop = _reorder_points(d, lead_time_days, ss)
    target = _order_up_to_levels(d, lead_time_days, review_days, ss)
    quantity, reason = _recommendations(target, position, rop, d)
    cover = _days_of_cover_of(on_hand, d)
    return Replenishments(ss, rop, target, quantity, reason, _whole_units_of(quantity), cover,
                          stockout_dates(as_of, cover))


# -- one value at a time: checked like :func:`~._numbers.as_number`, computed by the array code
def safety_stock(z: float, sigma_d: float, lead_time_days: float) -> float:
    """SS = z · σ_d · √L for one SKU unit (:func:`safety_stocks`).

    Reference: d = 50, σ_d = 5, L = 6, CSL 0.90 → SS 15.6957 (§3.6 #6).
    """
    return float(_safety_stocks(np.float64(as_number("z", z, minimum=None)),
                                np.float64(as_number("sigma_d", sigma_d)),
                                np.float64(as_number("lead_time_days", lead_time_days))))


def reorder_point(d: float, lead_time_days: float, ss: float) -> float:
    """ROP = d · L + SS for one SKU unit (:func:`reorder_points`); §3.6 #6 gives 315.6957."""
    return float(_reorder_points(np.float64(as_number("d", d)),
                                 np.float64(as_number("lead_time_days", lead_time_days)),
                                 np.float64(as_number("ss", ss, minimum=None))))


def order_up_to(d: float, lead_time_days: float, review_days: float, ss: float) -> float:
    """Target = d · (L + T) + SS for one SKU unit (:func:`order_up_to_levels`)."""
    return float(_order_up_to_levels(np.float64(as_number("d", d)),
                                     np.float64(as_number("lead_time_days", lead_time_days)),
                                     np.float64(as_number("review_days", review_days)),
                                     np.float64(as_number("ss", ss, minimum=None))))


@dataclass(frozen=True, slots=True)
class Recommendation:
    """How much to order (units, not yet rounded) and why."""

    quantity: float
    reason: str


def recommend(target: float, position: float, rop: float, *,
              demand: float | None = None) -> Recommendation:
    """Order ``target − position`` when position ≤ ROP, else 0, for one SKU unit
    (:func:`recommendations`); ``no_demand`` and 0 when ``demand`` is given and is 0."""
    checked = None if demand is None else np.float64(as_number("demand", demand))
    quantity, reason = _recommendations(np.float64(as_number("target", target, minimum=None)),
                                        np.float64(as_number("position", position,
                                                             minimum=None)),
                                        np.float64(as_number("rop", rop, minimum=None)),
                                        checked)
    return Recommendation(float(quantity), REASONS[int(reason)])


def whole_units(quantity: float, *, tolerance: float = 1e-9) -> int:
    """The smallest whole number of units ≥ ``quantity`` (0 for quantity ≤ 0), for one
    quantity (:func:`whole_units_of`): 12.000000000001 is 12, 12.2 is 13."""
    checked = np.float64(as_number("quantity", quantity, minimum=None))
    return int(_whole_units_of(checked, tolerance))


def days_of_cover(available: float, d: float) -> float | None:
    """DoS = max(available, 0) / d for one SKU unit (:func:`days_of_cover_of`), None when
    d = 0 (cover is unbounded, not a number)."""
    cover = float(_days_of_cover_of(np.float64(as_number("available", available, minimum=None)),
                                    np.float64(as_number("d", d))))
    return None if np.isnan(cover) else cover


def stockout_date(as_of: date, available: float, d: float) -> date | None:
    """Projected stock-out date of one SKU unit (:func:`stockout_dates`): as_of + ⌊DoS⌋ days,
    None when d = 0 or beyond year 9999. 10 available at 2 a day → ``as_of + 5``."""
    cover = days_of_cover(available, d)
    if cover is None:
        return None
    day = stockout_dates(as_of, np.float64(cover))
    return None if np.isnat(day) else day.item()


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
