"""The monitoring bench's Dagster code location, :func:`tick_definitions`.

Served by ``dagster api grpc -f <this file> -a tick_definitions`` (see ``ticks.py``). Dagster
loads the file by its path, without bench/ on ``sys.path``, so it imports nothing from the
bench: only Dagster and the project.
"""

from datetime import datetime

import dagster as dg


def _on_the_minute(moment: datetime) -> bool:
    return moment.tzinfo is not None and moment.second == 0 and moment.microsecond == 0


def tick_definitions() -> dg.Definitions:
    """The bench's code location (``dagster api grpc -f <this file> -a tick_definitions``).

    The project's assets, checks, jobs and resources, and one schedule built like
    ``monitoring_every_15m`` but every minute. No sensors: they would compete for the one run
    slot. Windows on any whole minute are accepted (the asset's check wants a quarter hour).
    """
    from supplybrain_pipelines.assets.monitoring import snapshot
    from supplybrain_pipelines.definitions import defs as project
    from supplybrain_pipelines.guards import guarded_schedule
    from supplybrain_pipelines.jobs import monitoring_job
    from supplybrain_pipelines.schedules import _tick_window

    snapshot.is_window_start = _on_the_minute
    every_minute = guarded_schedule(
        name="monitoring_every_minute", job=monitoring_job, cron_schedule="* * * * *",
        run_config_fn=_tick_window,
        description="Bench: monitoring_every_15m's schedule on a one-minute cron.")
    return dg.Definitions(assets=project.assets, asset_checks=project.asset_checks,
                          jobs=project.jobs, schedules=[every_minute],
                          resources=project.resources)
