"""Freshness policies: one on every asset, windows worked out by hand from the schedules.

The rule (freshness.py): warn = longest gap between ticks + the run's budget, fail = warn + one
more gap, in whole minutes.
"""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import pytest

from supplybrain_pipelines.definitions import defs
from supplybrain_pipelines.freshness import FEEDS, freshness_windows, longest_gap


def windows(key: str) -> tuple[timedelta, timedelta]:
    policy = defs.resolve_asset_graph().get(dg.AssetKey(key)).freshness_policy
    return policy.warn_window.to_timedelta(), policy.fail_window.to_timedelta()


def test_every_asset_of_the_code_location_has_a_policy():
    graph = defs.resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    assert len(keys) >= 18
    missing = [k.to_user_string() for k in keys if graph.get(k).freshness_policy is None]
    assert missing == []


@pytest.mark.parametrize(("key", "warn", "fail"), [
    # :05/:20/:35/:50 -> gap 15; page budget 420 s + TICK_MARGIN 2 min = 9 -> 24, 39
    ("wb_orders", 24, 39),
    ("moysklad_stock", 24, 39),
    ("orders_daily", 24, 39),
    # the ingest cron; 9 + automation sensor 1 + planning run 3 = 13 -> 28, 43
    ("planning_proposals", 28, 43),
    ("demand", 28, 43),
    # */15 -> gap 15; monitoring budget 5 -> 20, 35
    ("monitoring_snapshot", 20, 35),
    # :03/:18/:33/:48 -> gap 15; observation budget 1 -> 16, 31
    ("wb_integration_accounts", 16, 31),
])
def test_windows_follow_the_feeding_schedule(key, warn, fail):
    assert windows(key) == (timedelta(minutes=warn), timedelta(minutes=fail))


def test_no_window_reads_as_an_hour_in_the_ui():
    # the UI words 45 minutes and more as "an hour"
    for feed in FEEDS.values():
        warn, fail = freshness_windows(feed.cron, feed.budget)
        assert fail <= timedelta(minutes=44), feed


def test_a_changed_cron_changes_the_windows():
    assert longest_gap("3-59/15 * * * *") == timedelta(minutes=15)
    assert longest_gap("0,30 * * * *") == timedelta(minutes=30)
    # 0 and 10 past: the longest gap is 50 minutes (:10 to the next :00)
    assert longest_gap("0,10 * * * *") == timedelta(minutes=50)
    assert freshness_windows("0,10 * * * *", timedelta(seconds=61)) == (
        timedelta(minutes=52), timedelta(minutes=102))
    assert freshness_windows("40 3 * * *", timedelta(0)) == (timedelta(days=1),
                                                             timedelta(days=2))


def test_a_negative_budget_is_refused():
    with pytest.raises(ValueError, match="negative"):
        freshness_windows("*/15 * * * *", timedelta(minutes=-1))
