"""Schedules. Each one is built with :func:`guarded_schedule`, so a tick is skipped while a run
of its job is still queued or running."""

from datetime import datetime

import dagster as dg

from supplybrain_pipelines.guards import guarded_schedule
from supplybrain_pipelines.jobs import (
    ingest_job,
    monitoring_job,
    monitoring_retention,
    observe_sources_job,
    planning_retention,
)

observe_sources_schedule = guarded_schedule(
    name="observe_sources_every_15m",
    job=observe_sources_job,
    # Off the snapshot's quarter hours, so it never takes the one run slot at a snapshot tick.
    cron_schedule="3-59/15 * * * *",
    description="Every 15 minutes, at :03/:18/:33/:48: record whether integration accounts or "
    "alert rules changed.",
)

ingest_schedule = guarded_schedule(
    name="ingest_every_15m",
    job=ingest_job,
    # Ten minutes before each quarter-hour snapshot (:00, :15, :30, :45).
    cron_schedule="5-59/15 * * * *",
    description="Every 15 minutes, at :05/:20/:35/:50, ten minutes before the monitoring "
    "snapshot: pull orders and stock of every active account (no new page after the run's "
    "page budget, 420 s; the cursor carries the rest).",
)


def window_config(window: datetime) -> dict:
    """Run config of a ``monitoring`` run that writes the snapshot row of ``window``."""
    return {"ops": {"monitoring_snapshot": {"config": {"window_start": window.isoformat()}}}}


def _tick_window(context: dg.ScheduleEvaluationContext) -> dict:
    """The snapshot's window is the tick time, so a late or retried run writes its own row."""
    return window_config(context.scheduled_execution_time)


monitoring_schedule = guarded_schedule(
    name="monitoring_every_15m",
    job=monitoring_job,
    cron_schedule="*/15 * * * *",
    run_config_fn=_tick_window,
    description="Every 15 minutes (UTC :00/:15/:30/:45): one monitoring snapshot row for the "
    "window that starts at the tick. Its runs jump the run queue (dagster/priority 10).",
)

retention_schedule = guarded_schedule(
    name="monitoring_retention_daily",
    job=monitoring_retention,
    cron_schedule="40 3 * * *",
    description="Daily at 03:40 UTC: prune monitoring history older than 400 days.",
)

planning_retention_schedule = guarded_schedule(
    name="planning_retention_daily",
    job=planning_retention,
    cron_schedule="42 3 * * *",
    description="Daily at 03:42 UTC: delete planning runs (proposals, planning health) computed "
    "more than 30 days ago; the newest run stays.",
)

SCHEDULES = [observe_sources_schedule, ingest_schedule, monitoring_schedule, retention_schedule,
             planning_retention_schedule]
