"""Schedules. Each one is built with :func:`guarded_schedule`, so a tick is skipped while a run
of its job is still queued or running."""

from supplybrain_pipelines.guards import guarded_schedule
from supplybrain_pipelines.jobs import ingest_job, observe_sources_job

observe_sources_schedule = guarded_schedule(
    name="observe_sources_every_15m",
    job=observe_sources_job,
    cron_schedule="*/15 * * * *",
    description="Every 15 minutes: record whether integration accounts or alert rules changed.",
)

ingest_schedule = guarded_schedule(
    name="ingest_every_15m",
    job=ingest_job,
    # Ten minutes before each quarter-hour snapshot (:00, :15, :30, :45).
    cron_schedule="5-59/15 * * * *",
    description="Every 15 minutes, at :05/:20/:35/:50, ten minutes before the monitoring "
    "snapshot: pull orders and stock of every active account.",
)

SCHEDULES = [observe_sources_schedule, ingest_schedule]
