"""The in-flight guard that every schedule of the project is built with.

Dagster's scheduler does not skip a tick when the run queue is full: each tick adds a QUEUED run,
and with one run at a time a slow job would pile them up without bound. A guarded schedule
returns ``SkipReason`` while a run of its job is queued or in progress.
"""

from __future__ import annotations

from collections.abc import Callable

import dagster as dg

#: Run states in which a run still holds, or waits for, the single run slot.
IN_FLIGHT_STATUSES = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def in_flight_run(instance: dg.DagsterInstance, job_name: str) -> dg.DagsterRun | None:
    """The newest queued or running run of ``job_name``, if any."""
    records = instance.get_run_records(
        filters=dg.RunsFilter(job_name=job_name, statuses=IN_FLIGHT_STATUSES), limit=1
    )
    return records[0].dagster_run if records else None


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
