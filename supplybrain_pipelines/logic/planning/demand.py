"""Demand estimation for sparse daily sales: demand class, Croston family, in-stock velocity, σ.

Source for every convention: ``planning_and_marketplace_apis.md`` §4.1–4.2.

Conventions (pinned, tested):

- **Croston decomposition** (statsforecast ``_croston_classic``; R ``forecast::croston``): sizes
  z = the non-zero values; intervals p measured *from the series start*, i.e.
  ``diff([0] + [i + 1 for each non-zero index i])`` — the first interval is the 1-based position
  of the first demand.
- **SES initialisation**: the level starts at the *first observation* and is then updated with
  every later one (statsforecast ``ses``: ``fitted[0] = x[0]``); the forecast is the level after
  the last observation. This is the initialisation that gives
  ``croston([1, 0, 0, 0, 2, 0, 0], 0.1) = 1.1 / 1.3 = 0.8461538`` (R forecast#26). Other
  conventions do not: starting each level at the mean of its values gives 1.505 / 2.515 =
  0.598; intervals measured only between demands (p = [4]) give 1.1 / 4 = 0.275; 0-based
  positions (p = [0, 4]) give 1.1 / 0.4 = 2.75.
- **ADI** = mean of those same intervals (so ADI and Croston see the same p); **CV²** =
  (sample standard deviation / mean)² of the non-zero sizes, 0 with fewer than two sizes.
  Cut-offs ADI 1.32 and CV² 0.49 (Syntetos–Boylan, §4.1).
- **σ of daily demand**: the *sample* standard deviation (n − 1). σ_d is estimated from a
  30-day sample of days, not known for the population; the n − 1 form is what R ``sd`` (the
  input to inventorize's ``reorderpoint``) and ``statistics.stdev`` compute, and the
  population form would understate safety stock on short windows. Fewer than two days → 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

from supplybrain_pipelines.logic.planning._numbers import as_count, as_number

#: Syntetos–Boylan cut-offs (§4.1): intermittent when ADI > 1.32, erratic when CV² > 0.49.
ADI_CUTOFF = 1.32
CV2_CUTOFF = 0.49
#: Croston smoothing constant used by the pipeline (issue 4; statsforecast default).
CROSTON_ALPHA = 0.1

CrostonVariant = Literal["classic", "sba", "tsb"]


def _series(daily: Sequence[float]) -> list[float]:
    """The daily values as floats; ValueError on a negative, NaN or infinite value.

    Fast path for plain int/float lists (one pass, no per-value call); anything else, or a
    suspicious sum, goes through :func:`as_number` value by value for a precise message.
    """
    if all(type(value) is float or type(value) is int for value in daily):
        values = [float(value) for value in daily]
        total = sum(values)
        if math.isfinite(total) and (not values or min(values) >= 0):
            return values
    return [as_number(f"day {position}: demand", value) for position, value in enumerate(daily)]


def _sample_sd(values: Sequence[float]) -> float:
    """Sample standard deviation √(Σ(x − x̄)² / (n − 1)) in floats; 0.0 for n < 2.

    Same estimator as ``statistics.stdev`` / R ``sd``, without their exact-fraction cost."""
    n = len(values)
    if n < 2:
        return 0.0
    mean = sum(values) / n
    return math.sqrt(sum((value - mean) ** 2 for value in values) / (n - 1))


def decompose(daily: Sequence[float]) -> tuple[list[float], list[int]]:
    """Croston decomposition: (non-zero sizes z, intervals p from the series start).

    p = diff([0] + [i + 1 for each non-zero index i]) (statsforecast ``_croston_classic``,
    R ``forecast::croston``). ``[1, 0, 0, 0, 2, 0, 0]`` → ([1, 2], [1, 4]).
    """
    return _decompose(_series(daily))


def _decompose(values: Sequence[float]) -> tuple[list[float], list[int]]:
    """:func:`decompose` on values already checked by :func:`_series`."""
    sizes: list[float] = []
    intervals: list[int] = []
    previous = 0
    for index, value in enumerate(values):
        if value > 0:
            sizes.append(value)
            intervals.append(index + 1 - previous)
            previous = index + 1
    return sizes, intervals


def ses(values: Sequence[float], alpha: float) -> float:
    """Simple exponential smoothing, level₀ = x₀, levelₜ = α·xₜ + (1 − α)·levelₜ₋₁; returns the
    last level (the one-step forecast). Initialisation as statsforecast ``ses`` (§4.1)."""
    if not values:
        raise ValueError("ses needs at least one value")
    level = float(values[0])
    for value in values[1:]:
        level = alpha * value + (1.0 - alpha) * level
    return level


def _check_alpha(name: str, alpha: float) -> float:
    """``alpha`` as a float; ValueError unless 0 < α ≤ 1 (a smoothing constant)."""
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha <= 1:
        raise ValueError(f"{name} must be in (0, 1], got {alpha!r}")
    return float(alpha)


def croston(daily: Sequence[float], alpha: float = CROSTON_ALPHA,
            variant: CrostonVariant = "classic", *, alpha_p: float | None = None) -> float:
    """Croston's intermittent-demand rate per day.

    - classic: ẑ / p̂ with ẑ = SES(sizes, α) and p̂ = SES(intervals, α);
    - sba (Syntetos–Boylan approximation): classic × (1 − α/2) (0.95 at α = 0.1, the factor
      statsforecast hard-codes);
    - tsb (Teunter–Syntetos–Babai): SES(occurrence 0/1 series, ``alpha_p`` (default α)) × ẑ.

    Source: ``planning_and_marketplace_apis.md`` §4.1. Reference values: [1,0,0,0,2,0,0] →
    0.8461538 classic (R forecast#26), 0.8038462 SBA; [0,0,3,0,0,0,2,0,4,0] → 1.0066890
    classic, 0.9563545 SBA, 0.63429637 TSB. No demand at all → 0.0.
    """
    if variant not in ("classic", "sba", "tsb"):
        raise ValueError(f"croston variant must be 'classic', 'sba' or 'tsb', got {variant!r}")
    alpha = _check_alpha("alpha", alpha)
    p_alpha = alpha if alpha_p is None else _check_alpha("alpha_p", alpha_p)
    return _croston(_series(daily), alpha, variant, p_alpha)


def _croston(values: Sequence[float], alpha: float, variant: str, alpha_p: float) -> float:
    """:func:`croston` on checked values and smoothing constants."""
    sizes, intervals = _decompose(values)
    if not sizes:
        return 0.0
    size_level = ses(sizes, alpha)
    if variant == "tsb":
        occurrence = [1.0 if value > 0 else 0.0 for value in values]
        return ses(occurrence, alpha_p) * size_level
    rate = size_level / ses(intervals, alpha)
    if variant == "classic":
        return rate
    return rate * (1.0 - alpha / 2.0)  # sba


@dataclass(frozen=True, slots=True)
class DemandClass:
    """Syntetos–Boylan class of a daily series; ``adi``/``cv2`` are None when there is no demand."""

    adi: float | None
    cv2: float | None
    kind: Literal["smooth", "erratic", "intermittent", "lumpy", "none"]


def classify_demand(daily: Sequence[float]) -> DemandClass:
    """ADI = mean Croston interval, CV² = (sample sd / mean)² of non-zero sizes; class by cut-offs.

    smooth: ADI ≤ 1.32 and CV² ≤ 0.49; erratic: ADI ≤ 1.32 and CV² > 0.49; intermittent:
    ADI > 1.32 and CV² ≤ 0.49; lumpy: both above. No non-zero day → kind "none".
    Source: §4.1 (Syntetos–Boylan; "use Croston/SBA/TSB when ADI > 1.32"). Intervals are those
    of :func:`decompose`, so trailing zero days after the last demand do not raise the ADI.
    """
    return _classify(_series(daily))


def _classify(values: Sequence[float]) -> DemandClass:
    """:func:`classify_demand` on values already checked by :func:`_series`."""
    sizes, intervals = _decompose(values)
    if not sizes:
        return DemandClass(None, None, "none")
    adi = sum(intervals) / len(intervals)
    cv2 = (_sample_sd(sizes) / (sum(sizes) / len(sizes))) ** 2
    intermittent = adi > ADI_CUTOFF
    variable = cv2 > CV2_CUTOFF
    if intermittent:
        kind: Literal["smooth", "erratic", "intermittent", "lumpy"] = (
            "lumpy" if variable else "intermittent")
    else:
        kind = "erratic" if variable else "smooth"
    return DemandClass(adi, cv2, kind)


def sigma_daily(daily: Sequence[float]) -> float:
    """σ_d = sample standard deviation (n − 1) of the daily demand; 0.0 for fewer than 2 days.

    Sample, not population: σ_d is estimated from a window of days (see the module docstring).
    Pass the days that count as observed (:func:`observed_days`) so that out-of-stock zeros do
    not inflate σ.
    """
    return _sample_sd(_series(daily))


@dataclass(frozen=True, slots=True)
class Velocity:
    """Units per day, the number of days divided by, and which days they were."""

    per_day: float
    days_used: int
    basis: Literal["in_stock", "calendar"]


def velocity(units: float, in_stock_days: int | None, calendar_days: int) -> Velocity:
    """Velocity = units / in-stock days; calendar days when the stock history is unknown.

    Source: §4.2 "Exclude out-of-stock days from the velocity denominator" (60 units, 30 days,
    10 out of stock → 3.0/day). ``in_stock_days`` None means "history unknown" → units /
    calendar days with basis "calendar" (the flag the issue asks for). A new SKU passes
    ``calendar_days = min(window, days since it first came into stock)``. Zero in-stock days
    with sales contradicts the history, so it also falls back to calendar days; zero days
    and no units → 0.0. Count in-stock days as :func:`observed_days` does (in stock, or sold
    that day) so that velocity and :func:`choose_method` divide by the same days.
    """
    units = as_number("units", units)
    as_count("calendar_days", calendar_days)
    if in_stock_days is not None and (
            isinstance(in_stock_days, bool) or not isinstance(in_stock_days, int)
            or not 0 <= in_stock_days <= calendar_days):
        raise ValueError(
            f"in_stock_days must be a whole number between 0 and calendar_days "
            f"({calendar_days}), got {in_stock_days!r}")
    if in_stock_days is not None and (in_stock_days > 0 or units == 0):
        per_day = units / in_stock_days if in_stock_days else 0.0
        return Velocity(per_day, in_stock_days, "in_stock")
    per_day = units / calendar_days if calendar_days else 0.0
    return Velocity(per_day, calendar_days, "calendar")


def observed_days(daily: Sequence[float], in_stock: Sequence[bool] | None) -> list[float]:
    """The days whose demand was observable: in stock, or with sales (a sale proves stock).

    ``in_stock`` None (history unknown) keeps every day. Out-of-stock zero days are dropped,
    which is the "drop or mask OOS days" of §4.2 (censored demand).
    """
    return _observed(_series(daily), in_stock)


def _observed(values: list[float], in_stock: Sequence[bool] | None) -> list[float]:
    """:func:`observed_days` on values already checked by :func:`_series`."""
    if in_stock is None:
        return values
    if len(in_stock) != len(values):
        raise ValueError(
            f"in_stock has {len(in_stock)} days but daily has {len(values)}; they must match")
    return [value for value, stocked in zip(values, in_stock, strict=True)
            if stocked or value > 0]


class RateChoice(NamedTuple):
    """The demand rate per day and the method that produced it."""

    rate: float
    method: Literal["croston_sba", "in_stock_mean", "calendar_mean", "no_in_stock_days"]


def choose_method(daily: Sequence[float], in_stock: Sequence[bool] | None = None, *,
                  alpha: float = CROSTON_ALPHA) -> RateChoice:
    """Croston SBA (α = 0.1) when ADI > 1.32, else the mean over observed days.

    Source: issue 4 ("an intermittent SKU (ADI > 1.32) uses Croston SBA with α = 0.1") and
    §4.1–4.2. Both the class and the rate use :func:`observed_days` (in stock or sold); the
    mean is Σ units / observed days ("in_stock_mean"), or / calendar days when ``in_stock`` is
    None ("calendar_mean"). No observed day → rate 0 with method "no_in_stock_days".
    """
    return _choose(_series(daily), in_stock, alpha)


def _choose(values: list[float], in_stock: Sequence[bool] | None, alpha: float) -> RateChoice:
    """:func:`choose_method` on values already checked by :func:`_series`."""
    days = _observed(values, in_stock)
    if not days:
        return RateChoice(0.0, "no_in_stock_days")
    alpha = _check_alpha("alpha", alpha)
    demand_class = _classify(days)
    if demand_class.adi is not None and demand_class.adi > ADI_CUTOFF:
        return RateChoice(_croston(days, alpha, "sba", alpha), "croston_sba")
    method: Literal["in_stock_mean", "calendar_mean"] = (
        "calendar_mean" if in_stock is None else "in_stock_mean")
    return RateChoice(sum(days) / len(days), method)


class DemandSummary(NamedTuple):
    """What the demand asset keeps per SKU unit: class, rate choice and σ of daily demand."""

    demand_class: DemandClass
    choice: RateChoice
    sigma: float


def summarize_demand(daily: Sequence[float], in_stock: Sequence[bool] | None = None, *,
                     alpha: float = CROSTON_ALPHA) -> DemandSummary:
    """:func:`classify_demand`, :func:`choose_method` and :func:`sigma_daily` of one series,
    which is validated once instead of three times.

    The class and σ are of the whole window (``daily``); the rate choice uses the observed
    days (``in_stock``), exactly as the three functions called one by one.
    """
    values = _series(daily)
    return DemandSummary(_classify(values), _choose(values, in_stock, alpha),
                         _sample_sd(values))
