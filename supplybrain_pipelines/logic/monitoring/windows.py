"""15-minute monitoring windows, in UTC."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

WINDOW = timedelta(minutes=15)


def floor_window(moment: datetime) -> datetime:
    """The start of the 15-minute window that contains ``moment`` (aware; returned in UTC)."""
    if moment.tzinfo is None:
        raise ValueError("a window needs an aware datetime")
    moment = moment.astimezone(UTC)
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def page_deadline(started: datetime, budget: timedelta, margin: timedelta) -> datetime:
    """When a run that started at ``started`` stops asking for new pages: ``budget`` after its
    start, and never later than ``margin`` before the next window start, the monitoring tick
    (a run that starts within ``margin`` of a tick stops at once, after each feed's first
    page). So the monitoring run that the tick queues finds the single run slot free within
    about one page of the tick, whenever an ingestion run or backfill began.

    >>> t = datetime(2026, 12, 4, 10, 1, tzinfo=UTC)
    >>> page_deadline(t, timedelta(minutes=7), timedelta(minutes=2)).strftime("%H:%M")
    '10:08'
    >>> page_deadline(t.replace(minute=9), timedelta(minutes=7), timedelta(minutes=2)
    ...               ).strftime("%H:%M")
    '10:13'
    """
    next_tick = floor_window(started) + WINDOW
    return min(started + budget, max(started, next_tick - margin))


def is_window_start(moment: datetime) -> bool:
    return moment.tzinfo is not None and floor_window(moment) == moment


def missing_windows(present: Iterable[datetime], since: datetime,
                    until: datetime) -> list[datetime]:
    """Window starts in ``[floor(since), floor(until)]`` that are not in ``present``, oldest
    first."""
    have = {floor_window(p) for p in present}
    start, end = floor_window(since), floor_window(until)
    count = int((end - start) / WINDOW) + 1
    return [w for w in (start + i * WINDOW for i in range(max(count, 0))) if w not in have]
