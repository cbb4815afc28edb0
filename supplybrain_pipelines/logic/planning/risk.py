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
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from supplybrain_pipelines.logic.planning._numbers import as_number

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
    """The table of the module docstring: (level, days of cover, thresholds)."""
    thresholds = risk_thresholds(safety_days, alert_days)
    avg_daily = as_number("avg_daily", avg_daily)
    total_available = as_number("total_available", total_available, minimum=None)
    s, a, o = thresholds.safety_days, thresholds.alert_days, thresholds.overstock_days
    if avg_daily == 0:
        return ("overstock" if total_available > 0 else "no_data"), None, thresholds
    d = total_available / avg_daily if total_available != 0 else 0.0
    if d <= s:
        return "critical", d, thresholds
    if s < d <= a:
        return "warning", d, thresholds
    if a < d < o:
        return "ok", d, thresholds
    if d >= o:
        return "overstock", d, thresholds
    return "no_data", d, thresholds


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
