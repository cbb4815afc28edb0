"""Freshness policies, derived from the schedule that feeds each asset group.

One rule (:func:`freshness_windows`) turns a schedule's cron and the time its run may take into
a warn and a fail window, and :data:`FEEDS` says which schedule feeds which asset group, so a
changed cron or budget changes the policies with it. :func:`with_freshness` puts the policy on
every asset of the code location (``definitions.py``).

Dagster 1.13 evaluates a time-window policy on the asset's latest **materialisation** (the
freshness daemon, ``TimeWindowFreshnessPolicyEvaluator``): warn once it is older than the warn
window, fail once it is older than the fail window. The observed source tables are never
materialised, only observed, so their policy stays "unknown" in the UI; it is set for the
record of their cadence, and the ``observe_sources_every_15m`` ticks show whether they run.

The UI words a window of 45 minutes or more as "an hour", so the windows here are whole
minutes and those of the 15-minute feeds stay at or below 44 minutes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from math import ceil

import dagster as dg
from dagster._utils.schedules import cron_string_iterator

from supplybrain_pipelines.assets.ingest._run import TICK_MARGIN, IngestConfig
from supplybrain_pipelines.schedules import (
    ingest_schedule,
    monitoring_schedule,
    observe_sources_schedule,
)
from supplybrain_pipelines.sensors import planning_automation_sensor

#: An observation is one query per table.
OBSERVE_BUDGET = timedelta(minutes=1)
#: An ingest run asks for no page after ``page_budget_seconds`` (420 s); the page it is reading
#: and the ``orders``/``stock`` refresh fit in the ``TICK_MARGIN`` (2 min) left before the
#: monitoring tick.
INGEST_BUDGET = timedelta(seconds=IngestConfig().page_budget_seconds or 0) + TICK_MARGIN
#: A planning run, once the automation sensor queued it (about a minute on the sandbox's
#: business; bench numbers in the README's Freshness table).
PLANNING_RUN_BUDGET = timedelta(minutes=3)
#: A monitoring run waits at most for the run holding the slot (an ingest run stops asking for
#: pages ``TICK_MARGIN`` before the tick) and takes seconds itself.
MONITORING_BUDGET = timedelta(minutes=5)
#: Ticks looked at to find a cron's longest gap: eight days cover weekly crons.
_SCAN = timedelta(days=8)
_SCAN_START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday, 00:00 UTC


def longest_gap(cron: str) -> timedelta:
    """The longest time between two consecutive ticks of ``cron`` (UTC) over eight days.

    >>> longest_gap("5-59/15 * * * *")
    datetime.timedelta(seconds=900)
    >>> longest_gap("40 3 * * *")
    datetime.timedelta(days=1)
    """
    ticks = cron_string_iterator(_SCAN_START.timestamp(), cron, "UTC")
    previous, gap = next(ticks), timedelta(0)
    while previous < _SCAN_START + _SCAN:
        tick = next(ticks)
        gap, previous = max(gap, tick - previous), tick
    return gap


def freshness_windows(cron: str, budget: timedelta) -> tuple[timedelta, timedelta]:
    """``(warn, fail)`` windows of an asset fed by runs of ``cron`` that land within ``budget``
    of their tick.

    The newest materialisation of a healthy asset is at most one gap (the longest between two
    ticks) plus one budget old: the previous run landed right at its tick and the current one
    takes its whole budget. Older than that, a run is late or missed: **warn**. One gap more, a
    whole tick went by without a materialisation: **fail**. Both are rounded up to whole
    minutes (Dagster's windows are at least a minute).

    >>> freshness_windows("5-59/15 * * * *", timedelta(minutes=9))
    (datetime.timedelta(seconds=1440), datetime.timedelta(seconds=2340))
    """
    if budget < timedelta(0):
        raise ValueError("a run budget cannot be negative")
    gap = longest_gap(cron)
    warn = timedelta(minutes=ceil((gap + budget) / timedelta(minutes=1)))
    return warn, warn + timedelta(minutes=ceil(gap / timedelta(minutes=1)))


@dataclass(frozen=True)
class Feed:
    """What materialises an asset group: the schedule whose ticks start it, and how long after
    a tick its materialisation may land (waits in between included)."""

    cron: str
    budget: timedelta
    means: str

    def policy(self) -> dg.FreshnessPolicy:
        warn, fail = freshness_windows(self.cron, self.budget)
        return dg.FreshnessPolicy.time_window(fail_window=fail, warn_window=warn)


#: Asset group -> what feeds it. Planning has no schedule: the automation sensor starts it once
#: an ingest run has landed orders or stock, so it runs on the ingest cron, later by the ingest
#: budget, one sensor interval and its own run.
FEEDS: dict[str, Feed] = {
    "sources": Feed(observe_sources_schedule.cron_schedule, OBSERVE_BUDGET,
                    "observed by observe_sources_every_15m (not evaluated: never materialised)"),
    "ingest": Feed(ingest_schedule.cron_schedule, INGEST_BUDGET,
                   "pulled by ingest_every_15m (page budget 420 s + 2 min)"),
    "planning": Feed(ingest_schedule.cron_schedule,
                     INGEST_BUDGET
                     + timedelta(seconds=planning_automation_sensor.minimum_interval_seconds or 0)
                     + PLANNING_RUN_BUDGET,
                     "recomputed by planning_automation after each ingest run"),
    "monitoring": Feed(monitoring_schedule.cron_schedule, MONITORING_BUDGET,
                       "written by monitoring_every_15m for each quarter hour"),
}


def policy_for(spec: dg.AssetSpec) -> dg.FreshnessPolicy | None:
    """The policy of the group that ``spec`` belongs to; None for a group :data:`FEEDS` does
    not name (``test_freshness.py`` fails on such an asset, the code location still loads)."""
    feed = FEEDS.get(spec.group_name or "default")
    return feed.policy() if feed is not None else None


def _with_policy(spec: dg.AssetSpec) -> dg.AssetSpec:
    policy = policy_for(spec)
    return spec if policy is None else spec.replace_attributes(freshness_policy=policy)


def with_freshness(assets: Iterable[dg.AssetsDefinition]) -> Sequence[dg.AssetsDefinition]:
    """``assets`` with the policy of their group on every spec (replacing any set before)."""
    return [a.map_asset_specs(_with_policy) for a in assets]
