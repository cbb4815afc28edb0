"""The in-flight guard that every schedule of the project is built with.

Dagster's scheduler does not skip a tick when the run queue is full: each tick adds a QUEUED run,
and with one run at a time a slow job would pile them up without bound. A guarded schedule
returns ``SkipReason`` while a run of its job is queued or in progress.

A run that has been NOT_STARTED or STARTING for longer than ``STALE_START`` is not counted: such
a run never reached the run worker (a launch whose storage connection died with a PostgreSQL
restart stays NOT_STARTED until run monitoring fails it, about 3.5 minutes later), and counting
it would skip ticks for nothing. A healthy run leaves NOT_STARTED within milliseconds (it is
QUEUED on submission) and STARTING within seconds (the worker reports RUN_START).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import dagster as dg

#: Run states in which a run still holds, or waits for, the single run slot.
IN_FLIGHT_STATUSES = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]

#: States a run only passes through on its way to the worker. Stuck in one of them for longer
#: than ``STALE_START`` (since its last status change), a run no longer counts as in flight.
START_STATUSES = frozenset({dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING})
STALE_START = timedelta(minutes=2)

#: How many in-flight runs of one job the guard looks at (newest first) for one that counts.
_LOOKED_AT = 20


def holds_slot(status: dg.DagsterRunStatus, status_since: datetime, now: datetime,
               stale_after: timedelta = STALE_START) -> bool:
    """Whether a run in ``status`` since ``status_since`` counts as in flight at ``now``.

    Every in-flight status counts, except NOT_STARTED or STARTING held for longer than
    ``stale_after`` (exactly ``stale_after`` still counts)."""
    if status not in IN_FLIGHT_STATUSES:
        return False
    if status in START_STATUSES:
        return now - status_since <= stale_after
    return True


def in_flight_run(instance: dg.DagsterInstance, job_name: str,
                  now: datetime | None = None) -> dg.DagsterRun | None:
    """The newest run of ``job_name`` that is queued or running (see :func:`holds_slot`)."""
    now = now or datetime.now(UTC)
    records = instance.get_run_records(
        filters=dg.RunsFilter(job_name=job_name, statuses=IN_FLIGHT_STATUSES), limit=_LOOKED_AT
    )
    for record in records:
        if holds_slot(record.dagster_run.status, record.update_timestamp, now):
            return record.dagster_run
    return None


def guarded_schedule(
    *,
    job: dg.UnresolvedAssetJobDefinition | dg.JobDefinition,
    cron_schedule: str,
    name: str,
    description: str,
    default_status: dg.DefaultScheduleStatus = dg.DefaultScheduleStatus.RUNNING,
    tags: dict[str, str] | None = None,
    run_config_fn: Callable[[dg.ScheduleEvaluationContext], dict] | None = None,
) -> dg.ScheduleDefinition:
    """A UTC cron schedule for ``job`` that skips its tick while the job is in flight.

    The run key is the scheduled time, so a daemon that crashes mid-tick does not submit the
    same tick twice.
    """

    @dg.schedule(
        name=name,
        job=job,
        cron_schedule=cron_schedule,
        execution_timezone="UTC",
        default_status=default_status,
        description=description,
    )
    def _guarded(context: dg.ScheduleEvaluationContext):
        blocking = in_flight_run(context.instance, job.name)
        if blocking is not None:
            return dg.SkipReason(
                f"Run {blocking.run_id} of job {job.name} is still "
                f"{blocking.status.value.lower()}; this tick is skipped so that runs do not "
                "pile up in the one-at-a-time queue."
            )
        return dg.RunRequest(
            run_key=context.scheduled_execution_time.isoformat(),
            run_config=run_config_fn(context) if run_config_fn else {},
            tags=tags or {},
        )

    return _guarded
