"""Alert-rule evaluation and the overall status, with the old backend's semantics.

``above`` fires when value > threshold and ``below`` when value < threshold (both strict). A rule
whose metric or threshold type is unknown is skipped, not fatal, because rows can be written by
hand; so is a rule whose metric has no value in this snapshot (e.g. no token expiry is known).
A rule that names a metric by its name before migration 0016 (``risk_critical``) watches the new
one (``bundle_risk_critical``, ``metrics.RENAMED``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from supplybrain_pipelines.logic.monitoring.metrics import CATALOG, THRESHOLD_TYPES, canonical


@dataclass(frozen=True)
class Rule:
    id: int | None
    name: str
    metric: str
    threshold_type: str
    threshold_value: int
    severity: str


@dataclass(frozen=True)
class Alert:
    rule: Rule
    current_value: float


@dataclass(frozen=True)
class Evaluation:
    alerts: list[Alert]
    #: (rule, reason) for every active rule that could not be evaluated.
    skipped: list[tuple[Rule, str]]

    @property
    def critical(self) -> int:
        return sum(a.rule.severity == "critical" for a in self.alerts)

    @property
    def warning(self) -> int:
        return sum(a.rule.severity == "warning" for a in self.alerts)


def fires(threshold_type: str, value: float, threshold: float) -> bool:
    """Strict comparison: ``above`` ⇒ value > threshold, ``below`` ⇒ value < threshold."""
    if threshold_type == "above":
        return value > threshold
    if threshold_type == "below":
        return value < threshold
    raise ValueError(f"unknown threshold_type {threshold_type!r}")


def evaluate(rules: Iterable[Rule], values: Mapping[str, float | None]) -> Evaluation:
    """The alerts that the active ``rules`` raise on a snapshot's ``values``."""
    alerts, skipped = [], []
    for rule in rules:
        metric = canonical(rule.metric)
        if metric not in CATALOG:
            skipped.append((rule, f"unknown metric {rule.metric!r}"))
        elif rule.threshold_type not in THRESHOLD_TYPES:
            skipped.append((rule, f"unknown threshold_type {rule.threshold_type!r}"))
        elif values.get(metric) is None:
            skipped.append((rule, f"metric {metric!r} has no value in this snapshot"))
        elif fires(rule.threshold_type, values[metric], rule.threshold_value):
            alerts.append(Alert(rule, values[metric]))
    return Evaluation(alerts, skipped)


def overall_status(critical_alerts: int, warning_alerts: int,
                   values: Mapping[str, float | None]) -> str:
    """The old backend's precedence: any critical alert → ``critical``; else any warning alert
    → ``warning``; else ``warning`` when a bundle is at critical risk (``bundle_risk_critical``)
    or no WB or no MoySklad account is active; else ``ok``."""
    if critical_alerts > 0:
        return "critical"
    if warning_alerts > 0:
        return "warning"
    if (values.get("bundle_risk_critical") or 0) > 0 or not values.get("wb_accounts_active") \
            or not values.get("ms_accounts_active"):
        return "warning"
    return "ok"
