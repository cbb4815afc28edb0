"""Alert rules, status precedence and windows: the old backend's monitoring cases 5, 7 and 8."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from supplybrain_pipelines.db.seeds import SEED_ALERT_RULES
from supplybrain_pipelines.logic.monitoring.metrics import CATALOG, validate_rule
from supplybrain_pipelines.logic.monitoring.rules import Rule, evaluate, fires, overall_status
from supplybrain_pipelines.logic.monitoring.windows import (
    floor_window,
    is_window_start,
    missing_windows,
    page_deadline,
)


def rule(metric: str, kind: str, value: int, severity: str = "critical", id: int = 1) -> Rule:
    return Rule(id, f"{metric} {kind} {value}", metric, kind, value, severity)


def test_case_5_strict_rules_fire_with_their_current_values():
    rules = [rule("bundle_risk_critical", "above", 0, id=1),
             rule("wb_accounts_active", "below", 1, id=2),
             rule("bundle_risk_warning", "above", 10, "warning", id=3)]
    values = {"bundle_risk_critical": 2, "bundle_risk_warning": 3, "wb_accounts_active": 0}
    result = evaluate(rules, values)
    assert [(a.rule.id, a.current_value) for a in result.alerts] == [(1, 2), (2, 0)]
    assert (result.critical, result.warning) == (2, 0)


@pytest.mark.parametrize(("kind", "value", "threshold", "expected"), [
    ("above", 5, 5, False), ("above", 6, 5, True), ("below", 1, 1, False),
    ("below", 0, 1, True), ("above", 0, 0, False)])
def test_comparisons_are_strict(kind, value, threshold, expected):
    assert fires(kind, value, threshold) is expected


def test_case_7_unknown_metric_or_threshold_type_and_missing_values_are_skipped():
    rules = [rule("no_such_metric", "above", 0, id=1),
             rule("bundle_risk_critical", "sideways", 0, id=2),
             rule("min_token_days_left", "below", 7, id=3),
             rule("bundle_risk_critical", "above", 0, id=4)]
    result = evaluate(rules, {"bundle_risk_critical": 1, "min_token_days_left": None})
    assert [a.rule.id for a in result.alerts] == [4]
    assert [(r.id, reason.split()[0]) for r, reason in result.skipped] == [
        (1, "unknown"), (2, "unknown"), (3, "metric")]


def test_a_rule_with_a_metric_name_from_before_0016_watches_the_new_name():
    rules = [rule("risk_critical", "above", 0, id=1), rule("risk_ok", "below", 1, "warning", 2)]
    result = evaluate(rules, {"bundle_risk_critical": 3, "bundle_risk_ok": 4})
    assert [(a.rule.id, a.rule.metric, a.current_value) for a in result.alerts] == [
        (1, "risk_critical", 3)]
    assert result.skipped == []
    assert validate_rule("risk_no_data", "above", 3, "warning") == []


def test_the_run_slot_metrics_are_alertable_in_whole_percent_and_seconds():
    result = evaluate([rule("slot_busy_pct", "above", 80, "warning", 1),
                       rule("queue_wait_max_seconds", "above", 300, "warning", 2)],
                      {"slot_busy_pct": 80.5, "queue_wait_max_seconds": 300.0})
    assert [(a.rule.id, a.current_value) for a in result.alerts] == [(1, 80.5)]
    assert "slot_busy_share" not in CATALOG  # a share of 0..1 cannot take a whole threshold


def test_case_8_status_precedence():
    clean = {"bundle_risk_critical": 0, "wb_accounts_active": 1, "ms_accounts_active": 1}
    assert overall_status(1, 1, clean) == "critical"
    assert overall_status(0, 1, clean) == "warning"
    assert overall_status(0, 0, {**clean, "bundle_risk_critical": 5}) == "warning"
    assert overall_status(0, 0, {**clean, "wb_accounts_active": 0}) == "warning"
    assert overall_status(0, 0, {**clean, "ms_accounts_active": 0}) == "warning"
    assert overall_status(0, 0, clean) == "ok"


def test_the_seed_rules_are_valid_and_the_new_metrics_are_accepted():
    for seed in SEED_ALERT_RULES:
        assert validate_rule(seed.metric, seed.threshold_type, seed.threshold_value,
                             seed.severity) == []
    for metric in ("max_sync_age_minutes", "min_token_days_left", "orders_vs_prev_7d_pct"):
        assert metric in CATALOG
        assert validate_rule(metric, "below", 50, "warning") == []


def test_validation_names_every_problem():
    problems = validate_rule("risk_everything", "sideways", -1, "fatal")
    assert len(problems) == 4
    assert "unknown metric 'risk_everything'" in problems[0]
    assert validate_rule("bundle_risk_ok", "above", True, "warning")  # a bool is not a threshold


def test_windows_floor_to_the_quarter_hour_in_utc():
    moscow = timezone(timedelta(hours=3))
    assert floor_window(datetime(2026, 11, 26, 8, 44, 59, 9, tzinfo=moscow)) == \
        datetime(2026, 11, 26, 5, 30, tzinfo=UTC)
    assert is_window_start(datetime(2026, 11, 26, 5, 45, tzinfo=UTC))
    assert not is_window_start(datetime(2026, 11, 26, 5, 46, tzinfo=UTC))
    assert not is_window_start(datetime(2026, 11, 26, 5, 45))
    with pytest.raises(ValueError):
        floor_window(datetime(2026, 11, 26, 5, 45))


def test_missing_windows_lists_the_gaps_oldest_first():
    start = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)
    present = [start + timedelta(minutes=15 * i) for i in (0, 1, 3, 6)]
    assert missing_windows(present, start, start + timedelta(minutes=90)) == [
        start + timedelta(minutes=15 * i) for i in (2, 4, 5)]
    assert missing_windows(present, start, start + timedelta(minutes=15)) == []


@pytest.mark.parametrize(("started", "deadline"), [
    # 10:01 + 7 min = 10:08, before 10:13 (2 min before the 10:15 tick): the budget decides
    ("10:01:00", "10:08:00"),
    # 10:09 + 7 min = 10:16, after 10:13: the tick decides
    ("10:09:00", "10:13:00"),
    # started inside the margin (10:14 > 10:13): no page after each feed's first
    ("10:14:00", "10:14:00"),
    # started exactly on a tick: the next is 10:15 (margin 10:13), so the budget decides
    ("10:00:00", "10:07:00"),
])
def test_page_deadline_is_the_budget_or_two_minutes_before_the_next_tick(started, deadline):
    day = "2026-12-04T"
    moment = datetime.fromisoformat(f"{day}{started}+00:00")
    got = page_deadline(moment, timedelta(minutes=7), timedelta(minutes=2))
    assert got == datetime.fromisoformat(f"{day}{deadline}+00:00")
