"""Bundle risk: the old backend's table and its reference cases (seed_backend_domain.md §2.2)."""

from __future__ import annotations

import math

import pytest

from supplybrain_pipelines.logic.planning.risk import (
    RiskThresholds,
    classify_bundle_risk,
    risk_thresholds,
    worst_risk,
)


@pytest.mark.parametrize(("total", "level", "cover"), [
    (8, "critical", 4.0), (20, "warning", 10.0), (30, "ok", 15.0), (100, "overstock", 50.0)])
def test_old_backend_reference_cases(total: int, level: str, cover: float) -> None:
    """Safety 7, alert 14, 2.0 sales/day (20 over 10 days)."""
    result = classify_bundle_risk(total, 20 / 10, safety_days=7, alert_days=14)
    assert result.level == level
    assert result.days_of_cover == cover
    assert result.thresholds == RiskThresholds(7, 14, 42)
    assert result.explanation


def test_zero_sales_with_stock_is_overstock() -> None:
    result = classify_bundle_risk(50, 0.0)
    assert result.level == "overstock"
    assert result.days_of_cover is None
    assert result.thresholds.overstock_days == 42


def test_zero_sales_and_zero_stock_is_no_data() -> None:
    assert classify_bundle_risk(0, 0).level == "no_data"


def test_zero_stock_with_sales_is_critical_at_zero_cover() -> None:
    result = classify_bundle_risk(0, 2)
    assert (result.level, result.days_of_cover) == ("critical", 0.0)


@pytest.mark.parametrize(("cover", "level"), [
    (7, "critical"), (7.01, "warning"), (14, "warning"), (14.01, "ok"), (41.99, "ok"),
    (42, "overstock")])
def test_exact_operators_at_the_boundaries(cover: float, level: str) -> None:
    """d ≤ S critical; S < d ≤ A warning; A < d < O ok; d ≥ O overstock."""
    assert classify_bundle_risk(cover * 2, 2, 7, 14).level == level


def test_worked_monitoring_example() -> None:
    """§2.8: wb ready 20 + singles 35 = 55 available, 4.0/day → 13.75 days → warning."""
    result = classify_bundle_risk(20 + 35, 40 / 10)
    assert (result.level, result.days_of_cover) == ("warning", 13.75)


def test_thresholds_fall_back_to_7_and_14() -> None:
    assert risk_thresholds() == RiskThresholds(7, 14, 42)
    assert risk_thresholds(None, 30) == RiskThresholds(7, 30, 90)
    assert classify_bundle_risk(20, 2, None, None).thresholds == RiskThresholds(7, 14, 42)


@pytest.mark.parametrize(("total", "avg", "name"), [
    (10, -1, "avg_daily"), (10, math.nan, "avg_daily"), (math.inf, 1, "total_available")])
def test_bad_inputs_raise(total: float, avg: float, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        classify_bundle_risk(total, avg)


def test_worst_risk_priority() -> None:
    assert worst_risk(["ok", "overstock", "warning", "no_data"]) == "warning"
    assert worst_risk(["no_data", "overstock"]) == "overstock"
    assert worst_risk(["ok", "critical"]) == "critical"
    assert worst_risk([]) is None
    with pytest.raises(ValueError, match="unknown"):
        worst_risk(["bad"])  # type: ignore[list-item]
