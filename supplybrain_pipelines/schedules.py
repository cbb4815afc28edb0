"""Schedules. Each one is built with :func:`guarded_schedule`, so a tick is skipped while a run
of its job is still queued or running."""

from supplybrain_pipelines.guards import guarded_schedule
from supplybrain_pipelines.jobs import observe_sources_job

observe_sources_schedule = guarded_schedule(
    name="observe_sources_every_15m",
    job=observe_sources_job,
    cron_schedule="*/15 * * * *",
    description="Every 15 minutes: record whether integration accounts or alert rules changed.",
)

SCHEDULES = [observe_sources_schedule]
