"""How busy the one run slot was: the share of an interval in which some Dagster run held it,
and the longest queue wait of the runs that started in that interval (issue 15).

Pure functions on plain spans; the snapshot reads the spans from the instance's run storage
(``assets/monitoring/run_slot.py``).

The rule, for the interval ``[since, until)`` (the snapshot uses the hour before its window):

- a run occupies the slot from its start to its end; a run with no end yet (still running)
  occupies it up to ``until``; a run that never started (queued, or cancelled while queued)
  occupies nothing;
- each run's span is clipped to the interval, and the busy time is the length of the union of
  the clipped spans, so runs that overlap (a second slot, or the seconds while one run ends and
  the next starts) are counted once and the share never exceeds 1. With one slot the spans do
  not overlap and the union is their sum;
- the queue wait of a run is its start minus its creation (Dagster creates a run as it queues
  it, so this is the time it waited for the slot, plus the seconds the launcher takes to start
  it); it counts for the runs whose start lies in the interval.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class RunSpan:
    """One run's times: created (queued), started and ended; None when it has not yet."""

    run_id: str
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None


@dataclass(frozen=True)
class SlotOccupancy:
    busy_seconds: float
    #: busy_seconds / the interval's length, 0..1.
    busy_share: float
    #: Longest start − creation among runs that started in the interval; 0 when none did.
    queue_wait_max_seconds: float
    #: Runs whose clipped span is not empty.
    runs_counted: int
    #: The run with the longest queue wait (None when none started in the interval).
    longest_wait_run_id: str | None


def _clipped(span: RunSpan, since: datetime, until: datetime) -> tuple[datetime, datetime] | None:
    """The part of ``span``'s occupancy inside ``[since, until)``, or None."""
    if span.started_at is None:
        return None
    start = max(span.started_at, since)
    end = min(span.ended_at or until, until)
    return (start, end) if end > start else None


def union_seconds(intervals: Iterable[tuple[datetime, datetime]]) -> float:
    """Length in seconds of the union of half-open intervals ``(start, end)``."""
    total = 0.0
    current: tuple[datetime, datetime] | None = None
    for start, end in sorted(intervals):
        if current is None or start > current[1]:
            if current is not None:
                total += (current[1] - current[0]).total_seconds()
            current = (start, end)
        else:
            current = (current[0], max(current[1], end))
    if current is not None:
        total += (current[1] - current[0]).total_seconds()
    return total


def slot_occupancy(spans: Iterable[RunSpan], since: datetime, until: datetime) -> SlotOccupancy:
    """Occupancy of the run slot over ``[since, until)`` (see the module's rule)."""
    if until <= since:
        raise ValueError(f"empty interval: since {since.isoformat()} is not before "
                         f"until {until.isoformat()}")
    spans = list(spans)
    clipped = [c for c in (_clipped(s, since, until) for s in spans) if c is not None]
    busy = union_seconds(clipped)
    waits = [((s.started_at - s.created_at).total_seconds(), s.run_id) for s in spans
             if s.started_at is not None and since <= s.started_at < until]
    longest = max(waits, default=None)
    return SlotOccupancy(
        busy_seconds=busy, busy_share=busy / (until - since).total_seconds(),
        queue_wait_max_seconds=max(0.0, longest[0]) if longest else 0.0,
        runs_counted=len(clipped), longest_wait_run_id=longest[1] if longest else None)
