"""The run slot's occupancy (logic/monitoring/slot.py), worked by hand on the hour
[10:00, 11:00)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from supplybrain_pipelines.logic.monitoring.slot import RunSpan, slot_occupancy, union_seconds

SINCE = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
UNTIL = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)


def at(hhmm: str) -> datetime:
    hours, minutes = hhmm.split(":")
    return datetime(2026, 12, 1, int(hours), int(minutes), tzinfo=UTC)


def run(run_id: str, created: str, started: str | None, ended: str | None) -> RunSpan:
    return RunSpan(run_id, at(created), at(started) if started else None,
                   at(ended) if ended else None)


def test_runs_over_both_edges_are_clipped_and_waits_count_for_runs_started_inside():
    spans = [run("a", "09:40", "09:50", "10:10"),  # 10 min inside; started before: no wait
             run("b", "10:18", "10:20", "10:35"),  # 15 min, waited 2 min
             run("c", "10:45", "10:55", "11:05")]  # 5 min inside, waited 10 min
    occupancy = slot_occupancy(spans, SINCE, UNTIL)
    assert occupancy.busy_seconds == 1800.0  # 600 + 900 + 300
    assert occupancy.busy_share == 0.5
    assert occupancy.queue_wait_max_seconds == 600.0
    assert occupancy.longest_wait_run_id == "c"
    assert occupancy.runs_counted == 3


def test_a_still_running_run_is_busy_until_the_end_of_the_hour():
    spans = [run("long", "10:29", "10:30", None),
             run("queued", "10:31", None, None)]  # never started: occupies nothing
    occupancy = slot_occupancy(spans, SINCE, UNTIL)
    assert occupancy.busy_seconds == 1800.0
    assert occupancy.busy_share == 0.5
    assert occupancy.queue_wait_max_seconds == 60.0
    assert occupancy.runs_counted == 1


def test_a_run_holding_the_slot_all_hour_is_a_share_of_one():
    occupancy = slot_occupancy([run("all", "08:00", "09:00", None)], SINCE, UNTIL)
    assert (occupancy.busy_seconds, occupancy.busy_share) == (3600.0, 1.0)
    assert occupancy.queue_wait_max_seconds == 0.0  # it started before the hour


def test_no_runs_is_an_idle_slot():
    occupancy = slot_occupancy([], SINCE, UNTIL)
    assert (occupancy.busy_seconds, occupancy.busy_share, occupancy.queue_wait_max_seconds,
            occupancy.runs_counted, occupancy.longest_wait_run_id) == (0.0, 0.0, 0.0, 0, None)


def test_runs_outside_the_hour_count_for_nothing():
    spans = [run("before", "08:50", "09:00", "10:00"),  # ends as the hour begins
             run("after", "10:50", "11:00", "11:20")]  # starts as it ends (half-open)
    occupancy = slot_occupancy(spans, SINCE, UNTIL)
    assert (occupancy.busy_seconds, occupancy.queue_wait_max_seconds,
            occupancy.runs_counted) == (0.0, 0.0, 0)


def test_overlapping_runs_are_counted_once():
    spans = [run("x", "10:00", "10:00", "10:40"), run("y", "10:00", "10:30", "10:50")]
    occupancy = slot_occupancy(spans, SINCE, UNTIL)
    assert occupancy.busy_seconds == 3000.0  # 10:00-10:50, not 40 + 20 minutes
    assert occupancy.busy_share == pytest.approx(50 / 60)
    assert occupancy.queue_wait_max_seconds == 1800.0 and occupancy.longest_wait_run_id == "y"


def test_union_of_touching_and_disjoint_intervals():
    assert union_seconds([(at("10:10"), at("10:20")), (at("10:00"), at("10:10")),
                          (at("10:30"), at("10:31"))]) == 1260.0  # 20 min + 1 min
    assert union_seconds([]) == 0.0


def test_an_empty_interval_is_refused():
    with pytest.raises(ValueError, match="empty interval: since 2026-12-01T11:00:00"):
        slot_occupancy([], UNTIL, SINCE)
