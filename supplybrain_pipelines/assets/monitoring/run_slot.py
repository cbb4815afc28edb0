"""The run slot's occupancy in the hour before a window, read from the Dagster instance's run
storage (issue 15): the snapshot records it so that an operator sees the one-run limit coming
before schedules start skipping.

Runs read, among those created before the window that have started (the only ones that hold the
slot): those updated after the hour began (a run that ended in or after it was last updated then
or later), and those still running whatever their last update (a long run that started before
the hour). Both queries filter on status first, so they use Dagster's index on (status,
update_timestamp, create_timestamp). The maths is ``logic/monitoring/slot.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg

from supplybrain_pipelines.logic.monitoring.slot import RunSpan, SlotOccupancy, slot_occupancy

#: The interval measured: the hour before the window's start.
LOOKBACK = timedelta(hours=1)
#: At most this many run records per query (a 15-minute schedule and an ingest every 15 minutes
#: make about 8 runs an hour).
LIMIT = 1000
#: Statuses of runs that have started (STARTING runs have no start time yet).
RUNNING = [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
STARTED = [*RUNNING, dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE,
           dg.DagsterRunStatus.CANCELED]


def _at(timestamp: float | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC)


def read_run_spans(instance: dg.DagsterInstance, since: datetime,
                   until: datetime) -> list[RunSpan]:
    """Every run that may have held the slot in ``[since, until)``, once each."""
    records = {}
    for runs_filter in (dg.RunsFilter(statuses=STARTED, updated_after=since,
                                      created_before=until),
                        dg.RunsFilter(statuses=RUNNING, created_before=until)):
        for record in instance.get_run_records(runs_filter, limit=LIMIT):
            records[record.dagster_run.run_id] = record
    return [RunSpan(run_id, r.create_timestamp.astimezone(UTC), _at(r.start_time),
                    _at(r.end_time)) for run_id, r in records.items()]


def measure_run_slot(instance: dg.DagsterInstance,
                     window_start: datetime) -> tuple[dict, dict[str, float]]:
    """The ``details.run_slot`` record and the metrics of the hour before ``window_start``."""
    since = window_start - LOOKBACK
    occupancy: SlotOccupancy = slot_occupancy(read_run_spans(instance, since, window_start),
                                              since, window_start)
    details = {"since": since.isoformat(), "until": window_start.isoformat(),
               "busy_seconds": round(occupancy.busy_seconds, 1),
               "busy_share": round(occupancy.busy_share, 4),
               "runs_counted": occupancy.runs_counted,
               "queue_wait_max_seconds": round(occupancy.queue_wait_max_seconds, 1),
               "longest_wait_run_id": occupancy.longest_wait_run_id}
    metrics = {"slot_busy_share": round(occupancy.busy_share, 4),
               "slot_busy_pct": round(100 * occupancy.busy_share, 1),
               "queue_wait_max_seconds": round(occupancy.queue_wait_max_seconds, 1)}
    return details, metrics
