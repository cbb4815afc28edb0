"""Bundle risk: the old backend's classification, with its exact operators.

Source: ``seed_backend_domain.md`` §2.2 (``compute_risk_for_article_snapshot`` and
``resolve_thresholds_for_article``). With S = safety days, A = alert days, O = 3·A and
d = days of cover = total / avg:

| condition                | level     |
|--------------------------|-----------|
| avg = 0 and total > 0    | overstock |
| avg = 0 and total = 0    | no_data   |
| d ≤ S                    | critical  |
| S < d ≤ A                | warning   |
| A < d < O                | ok        |
| d ≥ O                    | overstock |
| otherwise                | no_data   |

Reference: safety 7, alert 14, avg 2.0/day: totals 8 → critical (d = 4), 20 → warning (10),
30 → ok (15), 100 → overstock (50); zero sales with stock → overstock; O = 42.

The table is written once, for arrays (:func:`risk_levels`, which ``planning_proposals`` runs on
the whole catalogue); :func:`classify_bundle_risk` and :func:`bundle_risk_level` check one value
and read the same code. The same table gives two stored notions: ``bundle_risk.risk_level`` (an
article × bundle type: bundles assembled from stock) and ``planning_proposals.cover_risk`` /
``planning_health.worst_cover_risk`` (a SKU unit's on-hand cover against its demand).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from supplybrain_pipelines.logic.planning._numbers import as_array, as_number

RiskLevel = Literal["critical", "warning", "ok", "overstock", "no_data"]

#: Fallbacks when planning_settings has no row (§2.2).
DEFAULT_SAFETY_DAYS = 7
DEFAULT_ALERT_DAYS = 14
#: Overstock threshold = alert × 3 (§2.2).
OVERSTOCK_FACTOR = 3
#: Priority used to pick an article's worst risk (§3.3: critical 5 > warning 4 > ok 3 >
#: overstock 2 > no_data 1).
RISK_PRIORITY: dict[str, int] = {"critical": 5, "warning": 4, "ok": 3, "overstock": 2,
                                 "no_data": 1}
#: The levels by code, as :func:`risk_levels` returns them.
RISK_LEVELS: tuple[RiskLevel, ...] = ("critical", "warning", "ok", "overstock", "no_data")
_LEVEL_NAMES = np.array(RISK_LEVELS, dtype=object)


@dataclass(frozen=True, slots=True)
class RiskThresholds:
    """Days-of-cover thresholds: safety S, alert A and overstock O = 3·A."""

    safety_days: float
    alert_days: float
    overstock_days: float


@dataclass(frozen=True, slots=True)
class RiskResult:
    """A risk level with the cover it was read from, the thresholds and a one-line reason."""

    level: RiskLevel
    days_of_cover: float | None
    thresholds: RiskThresholds
    explanation: str


def risk_thresholds(safety_days: float | None = None,
                    alert_days: float | None = None) -> RiskThresholds:
    """Thresholds from planning_settings, falling back to 7 and 14; O = 3 · A (§2.2)."""
    safety = DEFAULT_SAFETY_DAYS if safety_days is None else safety_days
    alert = DEFAULT_ALERT_DAYS if alert_days is None else alert_days
    as_number("safety_days", safety)
    as_number("alert_days", alert)
    return RiskThresholds(safety, alert, alert * OVERSTOCK_FACTOR)


def bundle_risk_level(total_available: float, avg_daily: float,
                      safety_days: float | None = DEFAULT_SAFETY_DAYS,
                      alert_days: float | None = DEFAULT_ALERT_DAYS
                      ) -> tuple[RiskLevel, float | None]:
    """The risk level and days of cover of :func:`classify_bundle_risk`, without the text.

    Same table, operators and input checks; for callers that keep only the level (the
    proposals classify every SKU unit and would throw the sentence away).
    """
    level, cover, _thresholds = _classify(total_available, avg_daily, safety_days, alert_days)
    return level, cover


def _classify(total_available: float, avg_daily: float, safety_days: float | None,
              alert_days: float | None) -> tuple[RiskLevel, float | None, RiskThresholds]:
    """One value of :func:`risk_levels`: (level, days of cover, thresholds)."""
    thresholds = risk_thresholds(safety_days, alert_days)
    avg_daily = as_number("avg_daily", avg_daily)
    total_available = as_number("total_available", total_available, minimum=None)
    codes, cover = _risk_codes(np.float64(total_available), np.float64(avg_daily),
                               np.float64(thresholds.safety_days),
                               np.float64(thresholds.alert_days))
    d = float(cover)
    return RISK_LEVELS[int(codes)], (None if np.isnan(d) else d), thresholds


def risk_levels(total_available: np.ndarray, avg_daily: np.ndarray,
                safety_days: np.ndarray | None = None, alert_days: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """The table of the module docstring, element by element: (levels, days of cover).

    ``levels`` is an object array of the level names; ``days of cover`` = total / avg where
    avg > 0 (0.0 where total = 0), NaN where avg = 0. NaN (or None for the whole array)
    thresholds fall back to 7 and 14, and O = 3 · A. Example: totals [8, 20, 30, 100, 50] at
    avg [2, 2, 2, 2, 0] → critical, warning, ok, overstock, overstock.
    """
    total = as_array("total_available", total_available, minimum=None)
    avg = as_array("avg_daily", avg_daily)
    safety = _threshold("safety_days", safety_days, DEFAULT_SAFETY_DAYS, total.shape)
    alert = _threshold("alert_days", alert_days, DEFAULT_ALERT_DAYS, total.shape)
    codes, cover = _risk_codes(total, avg, safety, alert)
    return _LEVEL_NAMES[codes], cover


def _threshold(name: str, values: np.ndarray | None, default: float, shape: tuple[int, ...]
               ) -> np.ndarray:
    """Thresholds as an array, NaN (or None) → ``default``; ValueError if negative."""
    if values is None:
        return np.full(shape, float(default))
    array = np.asarray(values, dtype=np.float64)
    return as_array(name, np.where(np.isnan(array), float(default), array))


def _risk_codes(total: np.ndarray, avg: np.ndarray, s: np.ndarray, a: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Codes into :data:`RISK_LEVELS` and days of cover, on checked arrays; the conditions are
    tried in the docstring's order, each with its exact operator."""
    o = a * OVERSTOCK_FACTOR
    shape = np.broadcast(total, avg, s, a).shape
    d = np.zeros(shape)
    np.divide(total, avg, out=d, where=(total != 0) & (avg != 0))
    codes = np.select([avg == 0, d <= s, (s < d) & (d <= a), (a < d) & (d < o), d >= o],
                      [np.where(total > 0, 3, 4), 0, 1, 2, 3], default=4)
    return codes, np.where(avg == 0, np.nan, d)


def classify_bundle_risk(total_available: float, avg_daily: float,
                         safety_days: float | None = DEFAULT_SAFETY_DAYS,
                         alert_days: float | None = DEFAULT_ALERT_DAYS) -> RiskResult:
    """The old backend's risk level for a bundle type (table in the module docstring).

    ``days_of_cover`` = total / avg when avg > 0 (0.0 when total = 0), None when avg = 0
    (§2.2). None thresholds fall back to 7 and 14. Negative or NaN sales raise ValueError.
    """
    level, d, thresholds = _classify(total_available, avg_daily, safety_days, alert_days)
    total_available = float(total_available)
    avg_daily = float(avg_daily)
    s, a, o = thresholds.safety_days, thresholds.alert_days, thresholds.overstock_days
    if d is None:
        text = (f"no sales in the window and {total_available:g} available"
                if level == "overstock" else "no sales and nothing available")
        return RiskResult(level, None, thresholds, text)
    cover = f"{d:.2f} days of cover ({total_available:g} available / {avg_daily:g} per day)"
    text = {"critical": f"{cover} ≤ safety {s:g} days",
            "warning": f"{cover}: above safety {s:g}, ≤ alert {a:g}",
            "ok": f"{cover}: above alert {a:g}, below overstock {o:g}",
            "overstock": f"{cover} ≥ overstock {o:g} days",
            }.get(level, f"{cover} fits no band; thresholds inconsistent")
    return RiskResult(level, d, thresholds, text)


def worst_risk(levels: Iterable[RiskLevel]) -> RiskLevel | None:
    """The highest-priority level (critical > warning > ok > overstock > no_data), first on ties;
    None for no levels. Source: §3.3 (planning health "worst risk"). ``planning_health``'s SQL
    is generated from :data:`RISK_PRIORITY` (``assets/planning/risk.py``); a test holds it
    equal to this function."""
    worst: RiskLevel | None = None
    for level in levels:
        if level not in RISK_PRIORITY:
            raise ValueError(f"unknown risk level {level!r}")
        if worst is None or RISK_PRIORITY[level] > RISK_PRIORITY[worst]:
            worst = level
    return worst
